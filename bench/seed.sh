#!/usr/bin/env bash
# Times `shebao seed --persons N` on PostgreSQL: a synthetic population into a fresh database.
#
#   bench/seed.sh                      # 100,000 persons, seed 42
#   PERSONS=1000000 SEED=7 bench/seed.sh
#
# Needs a PostgreSQL server that the user postgres reaches without a password (PG_HOST, PG_PORT,
# default 127.0.0.1:5432). Drops and re-creates the database shebao_bench_seed. Honours
# CARGO_TARGET_DIR. A copy of the output goes to bench/results/ (not committed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

PERSONS=${PERSONS:-100000}
SEED=${SEED:-42}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_seed
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/shebao

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shebao-bench-seed.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

mkdir -p bench/results
RESULT="bench/results/seed-$(date -u +%Y%m%dT%H%M%SZ)-${PERSONS}.txt"
exec > >(tee "$RESULT") 2>&1

echo "== bench/seed.sh: $PERSONS persons (seed $SEED) on PostgreSQL $PG_HOST:$PG_PORT/$DB"
echo "== building the release binary"
cargo build --release -p shebao-api
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 1; }

pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || { echo "PostgreSQL is not ready at $PG_HOST:$PG_PORT" >&2; exit 1; }
echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version')"
echo "binary:      $("$BIN" --version)"

echo "== fresh database $DB"
psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $DB"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_GENERATE_KEYS=true
export SHEBAO_KEY_DIR="$WORK/keys"
export SHEBAO_DATA_DIR="$WORK"
export SHEBAO_LOG=warn

echo "== shebao migrate"
"$BIN" migrate

echo "== shebao seed --persons $PERSONS --seed $SEED"
TIMING="$WORK/time.txt"
started=$(date +%s.%N)
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$TIMING" "$BIN" seed --persons "$PERSONS" --seed "$SEED"
else
    time "$BIN" seed --persons "$PERSONS" --seed "$SEED"
fi
finished=$(date +%s.%N)
wall=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.2f", b - a }')

rows=$(psql_on "$DB" -c "SELECT count(*) FROM persons")
size=$(psql_on "$DB" -c "SELECT pg_size_pretty(pg_total_relation_size('persons'))")

echo "== results"
echo "persons requested:  $PERSONS"
echo "rows in persons:    $rows"
echo "wall time:          $wall s"
echo "rate:               $(awk -v n="$PERSONS" -v s="$wall" 'BEGIN { printf "%.0f", n / s }') persons/s"
if [[ -s $TIMING ]]; then
    rss_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$TIMING")
    echo "peak RSS:           $((rss_kb / 1024)) MiB ($rss_kb kB)"
    echo "user CPU:           $(awk -F: '/User time/ { gsub(/ /, "", $2); print $2 }' "$TIMING") s"
    echo "system CPU:         $(awk -F: '/System time/ { gsub(/ /, "", $2); print $2 }' "$TIMING") s"
    echo "CPU of wall time:   $(awk -F: '/Percent of CPU/ { gsub(/ /, "", $2); print $2 }' "$TIMING")"
fi
echo "persons table size: $size"
echo "(output saved in $RESULT)"

if [[ $rows -ne $PERSONS ]]; then
    echo "row count $rows differs from the $PERSONS persons requested" >&2
    exit 1
fi
