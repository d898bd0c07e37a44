#!/usr/bin/env bash
# The records benchmark: a synthetic population with ten years of monthly contributions on
# PostgreSQL, the release server, GET /v1/me/contributions and /v1/me/contributions/summary under
# wrk at 64 connections (each request with a synthetic person's own token), and pgbench -S on the
# same PostgreSQL server for comparison. See bench/README.md.
#
#   bench/records.sh                              # 100,000 persons × 120 months (~34 M rows)
#   PERSONS=10000 MONTHS=120 bench/records.sh     # a tenth, to try it out (~1 minute of seeding)
#   REUSE=1 bench/records.sh                      # keep the loaded database, rerun the load tests
#   BASELINE_BIN=/path/to/old/shebao bench/records.sh   # measure an earlier build first, same data
#   BASELINE_INDEX=current BASELINE_BIN=… bench/records.sh  # …one that already has migration 17
#
# Needs: a PostgreSQL server that the user postgres reaches without a password (PG_HOST, PG_PORT,
# default 127.0.0.1:5432), psql and pgbench, wrk (Debian: apt-get install wrk), curl, and
# /usr/bin/time (Debian: apt-get install time) for the peak memory. Drops and re-creates the
# databases shebao_bench_records and shebao_bench_pgbench. Honours CARGO_TARGET_DIR. Everything
# listens on and talks to 127.0.0.1 only. A copy of the output goes to bench/results/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

PERSONS=${PERSONS:-100000}
MONTHS=${MONTHS:-120}
SEED=${SEED:-42}
CONNECTIONS=${CONNECTIONS:-64}   # load-tool connections = pgbench clients
TOKEN_COUNT=${TOKEN_COUNT:-$CONNECTIONS}  # distinct persons whose tokens the load tool rotates through
DURATION=${DURATION:-30}         # seconds of each measured run
WARMUP=${WARMUP:-5}              # seconds of an unmeasured run before each measured one
THREADS=${THREADS:-$(nproc)}     # wrk threads and pgbench -j
POOL=${POOL:-8}                  # the server's SHEBAO_DB_POOL_SIZE (more than 4× the cores only adds switching)
WORKERS=${WORKERS:-$(nproc)}     # the server's SHEBAO_WORKERS
PORT=${PORT:-18080}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
REUSE=${REUSE:-0}                # 1: keep database, keys and population from the previous run
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_records
PGBENCH_DB=shebao_bench_pgbench
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/shebao
# Keys, tokens and server logs; kept between runs so that REUSE=1 finds the same keys.
STATE=${STATE:-${TMPDIR:-/tmp}/shebao-bench-records}
BASE=http://127.0.0.1:$PORT

die() {
    echo "bench/records.sh: $*" >&2
    exit 1
}

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}

for tool in psql pgbench pg_isready wrk curl awk; do
    command -v "$tool" >/dev/null || die "$tool is missing (wrk: apt-get install wrk)"
done
HAVE_TIME=0
[[ -x /usr/bin/time ]] && HAVE_TIME=1

mkdir -p bench/results "$STATE"
chmod 700 "$STATE"
RESULT="bench/results/records-$(date -u +%Y%m%dT%H%M%SZ)-${PERSONS}x${MONTHS}.txt"
exec > >(tee "$RESULT") 2>&1

SERVER_PID=
TIME_PID=
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n $TIME_PID ]]; then
        wait "$TIME_PID" 2>/dev/null || true
    fi
    SERVER_PID=
    TIME_PID=
}
trap stop_server EXIT

QUIET_WAIT=${QUIET_WAIT:-600}

echo "== bench/records.sh: $PERSONS persons × $MONTHS months (seed $SEED) on PostgreSQL $PG_HOST:$PG_PORT/$DB"
echo "== building the release binary"
cargo build --release -p shebao-api
[[ -x $BIN ]] || die "no binary at $BIN"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL is not ready at $PG_HOST:$PG_PORT"

echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version')"
echo "pg settings: $(psql_on postgres -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'work_mem', 'max_wal_size', 'effective_cache_size')")"
echo "binary:      $("$BIN" --version)"
echo "wrk:         $(wrk -v 2>&1 | head -1)"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_KEY_DIR="$STATE/keys"
export SHEBAO_DATA_DIR="$STATE"
export SHEBAO_LOG=warn
export SHEBAO_ACCESS_TOKEN_TTL_SECS=3600

seed_secs=- seed_rate=- rows_line= seed_rss=- vacuum_secs=-
exists=$(psql_on postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")
if [[ $REUSE == 1 && $exists == 1 && -d $SHEBAO_KEY_DIR ]]; then
    echo "== REUSE=1: keeping $DB and the keys in $SHEBAO_KEY_DIR"
else
    echo "== fresh database $DB (keys in $SHEBAO_KEY_DIR)"
    psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    psql_on postgres -c "CREATE DATABASE $DB"
    rm -rf "$SHEBAO_KEY_DIR"
    SHEBAO_GENERATE_KEYS=true "$BIN" migrate

    echo "== shebao seed --persons $PERSONS --seed $SEED --history-months $MONTHS"
    seed_out="$STATE/seed.txt"
    started=$(date +%s.%N)
    if [[ $HAVE_TIME == 1 ]]; then
        /usr/bin/time -v -o "$STATE/seed-time.txt" \
            "$BIN" seed --persons "$PERSONS" --seed "$SEED" --history-months "$MONTHS" | tee "$seed_out"
        seed_rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); printf "%d MiB", $2 / 1024 }' "$STATE/seed-time.txt")
    else
        "$BIN" seed --persons "$PERSONS" --seed "$SEED" --history-months "$MONTHS" | tee "$seed_out"
    fi
    finished=$(date +%s.%N)
    echo "seed wall time: $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s, peak RSS $seed_rss"
    rows_line=$(grep 'contribution rows' "$seed_out" | tail -1)
    seed_secs=$(sed -n 's/.* in \([0-9.]*\) s (\([0-9]*\) rows\/s).*/\1/p' <<<"$rows_line")
    seed_rate=$(sed -n 's/.* in \([0-9.]*\) s (\([0-9]*\) rows\/s).*/\2/p' <<<"$rows_line")

    # Sets hint bits and the visibility map and gathers statistics now, instead of autovacuum
    # doing it in the middle of a measured run.
    echo "== VACUUM (ANALYZE) after the load"
    started=$(date +%s.%N)
    psql_on "$DB" -c "VACUUM (ANALYZE) contributions, persons, employers"
    finished=$(date +%s.%N)
    vacuum_secs=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')
    echo "vacuum: $vacuum_secs s"
fi

echo "== database"
psql_on "$DB" -c "SELECT 'persons: ' || count(*) FROM persons"
psql_on "$DB" -c "SELECT 'contribution rows: ' || count(*) FROM contributions"
psql_on "$DB" -F ' ' -c "SELECT 'size of ' || relname || ':', pg_size_pretty(pg_relation_size(oid)) FROM pg_class WHERE relname IN ('contributions', 'contributions_pkey', 'contributions_person_period_idx') OR (relname LIKE 'contributions_%key' AND relkind = 'i') ORDER BY relname"
psql_on "$DB" -c "SELECT 'contributions, table + indexes: ' || pg_size_pretty(pg_total_relation_size('contributions'))"

echo "== $TOKEN_COUNT access tokens"
TOKENS="$STATE/tokens.txt"
"$BIN" bench tokens --count "$TOKEN_COUNT" --out "$TOKENS"
[[ $(wc -l <"$TOKENS") -eq $TOKEN_COUNT ]] || die "expected $TOKEN_COUNT tokens in $TOKENS"

echo "== the endpoints' own statements (shebao bench statements) for the $TOKEN_COUNT persons"
# The persons behind the tokens (bench tokens binds the first COUNT by card number), and for
# each the exact statements and parameters the list (first page) and the summary run: what the
# same-SQL ceiling below gives pgbench.
psql_on "$DB" -c "SELECT p.id FROM persons p JOIN accounts a ON a.person_id = p.id ORDER BY p.card_number LIMIT $TOKEN_COUNT" >"$STATE/persons.txt"
[[ $(wc -l <"$STATE/persons.txt") -eq $TOKEN_COUNT ]] || die "expected $TOKEN_COUNT bound persons"
: >"$STATE/list-params.txt"
: >"$STATE/summary-params.txt"
while read -r pid; do
    "$BIN" bench statements --person "$pid" >"$STATE/statements.txt"
    awk -F'\t' '$1 == "list-params" { $1 = ""; print substr($0, 2) }' OFS='\t' "$STATE/statements.txt" >>"$STATE/list-params.txt"
    awk -F'\t' '$1 == "summary-params" { $1 = ""; print substr($0, 2) }' OFS='\t' "$STATE/statements.txt" >>"$STATE/summary-params.txt"
done <"$STATE/persons.txt"
# pgbench scripts: the statement with $n as :pn (pgbench -M prepared binds them as parameters).
for name in list summary; do
    awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$STATE/statements.txt" | sed -E 's/\$([0-9]+)/:p\1/g; s/$/;/' >"$STATE/$name.sql"
    [[ -s $STATE/$name.sql ]] || die "no $name statement from shebao bench statements"
    echo "-- $name: $(cat "$STATE/$name.sql")"
    echo "-- $name parameters (first person): $(head -1 "$STATE/$name-params.txt" | tr '\t' ' ')"
done
# EXPLAIN (ANALYZE, BUFFERS) of a prepared statement with the first person's parameters: the
# plan the server's prepared statement gets. The list must be an Index Only Scan with (nearly)
# no heap fetches.
explain_prepared() {
    local name=$1 sql params literals
    sql=$(sed -E 's/:p([0-9]+)/$\1/g; s/;$//' "$STATE/$name.sql")
    params=$(head -1 "$STATE/$name-params.txt")
    literals=$(awk -F'\t' '{ for (i = 1; i <= NF; i++) printf "%s'\''%s'\''", (i > 1 ? ", " : ""), $i }' <<<"$params")
    psql_on "$DB" -c "PREPARE q AS $sql" -c "EXPLAIN (ANALYZE, BUFFERS) EXECUTE q($literals)"
}
echo "-- plan of the list (GET /v1/me/contributions, first page of 50):"
explain_prepared list | tee "$STATE/list-plan.txt"
echo "-- plan of the summary (GET /v1/me/contributions/summary):"
explain_prepared summary
LIST_HEAP_FETCHES=$(sed -n 's/.*Heap Fetches: \([0-9]*\).*/\1/p' "$STATE/list-plan.txt" | head -1)
grep -q 'Index Only Scan' "$STATE/list-plan.txt" && LIST_PLAN="Index Only Scan, heap fetches ${LIST_HEAP_FETCHES:-?}" || LIST_PLAN="NOT an index-only scan"
echo "list plan: $LIST_PLAN"

server_env=(
    SHEBAO_LISTEN="127.0.0.1:$PORT"
    SHEBAO_DB_POOL_SIZE="$POOL"
    SHEBAO_WORKERS="$WORKERS"
    SHEBAO_SMS_STANDIN_LISTEN=127.0.0.1:0
    SHEBAO_SMS_STANDIN=true
    SHEBAO_PAY_STANDIN=true
    SHEBAO_PAY_STANDIN_LISTEN=127.0.0.1:0
    SHEBAO_METRICS_LISTEN=127.0.0.1:0
    SHEBAO_DEMO_SEED=false
)
# Starts `$1` serve (under /usr/bin/time -v, its report in `$2`) and waits until it is ready.
start_server() {
    local bin=$1 time_file=$2
    echo "== starting $bin on $BASE (pool $POOL, workers $WORKERS)"
    if [[ $HAVE_TIME == 1 ]]; then
        env "${server_env[@]}" /usr/bin/time -v -o "$time_file" "$bin" serve >"$STATE/server.log" 2>&1 &
        TIME_PID=$!
        for _ in $(seq 50); do
            SERVER_PID=$(pgrep -P "$TIME_PID" || true)
            [[ -n $SERVER_PID ]] && break
            sleep 0.1
        done
    else
        env "${server_env[@]}" "$bin" serve >"$STATE/server.log" 2>&1 &
        SERVER_PID=$!
        TIME_PID=$SERVER_PID
    fi
    [[ -n $SERVER_PID ]] || die "the server did not start (see $STATE/server.log)"
    for i in $(seq 120); do
        curl -sf -o /dev/null "$BASE/readyz" && break
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited (see $STATE/server.log)"
        [[ $i == 120 ]] && die "the server is not ready after 60 s (see $STATE/server.log)"
        sleep 0.5
    done
    local first_token path code
    first_token=$(head -1 "$TOKENS")
    for path in /v1/me/contributions /v1/me/contributions/summary; do
        code=$(curl -s -o "$STATE/sample.json" -w '%{http_code}' -H "authorization: Bearer $first_token" "$BASE$path")
        [[ $code == 200 ]] || die "GET $path answered $code: $(head -c 300 "$STATE/sample.json")"
        echo "GET $path: 200, $(wc -c <"$STATE/sample.json") bytes"
    done
}

declare -A RPS P50 P99 SERVER_CPU PG_CPU WRK_CPU OTHER_CPU
run_wrk() {
    local name=$1 path=$2
    echo "== $name: GET $path, $CONNECTIONS connections, $THREADS threads, ${WARMUP} s warm-up + ${DURATION} s"
    wait_quiet
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s bench/records.lua "$BASE$path" -- "$TOKENS" "$path" "$THREADS" >/dev/null
    local a b out wrk_cpu=0
    a=$(snapshot)
    if [[ $HAVE_TIME == 1 ]]; then
        out=$(/usr/bin/time -f 'WRKCPU %U %S' -o "$STATE/wrk-time.txt" \
            wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency -s bench/records.lua "$BASE$path" -- "$TOKENS" "$path" "$THREADS")
        wrk_cpu=$(awk '/^WRKCPU/ { print $2 + $3 }' "$STATE/wrk-time.txt")
    else
        out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency -s bench/records.lua "$BASE$path" -- "$TOKENS" "$path" "$THREADS")
    fi
    b=$(snapshot)
    echo "$out"
    local result
    result=$(grep '^RESULT' <<<"$out")
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $result"; }
    RPS[$name]=$(field rps)
    P50[$name]=$(field p50_ms)
    P99[$name]=$(field p99_ms)
    SERVER_CPU[$name]="$(percent "$a" "$b" 3) %"
    PG_CPU[$name]="$(percent "$a" "$b" 4) %"
    WRK_CPU[$name]="$(awk -v a="$a" -v b="$b" -v w="$wrk_cpu" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", w / (y[1] - x[1]) * 100 }') %"
    OTHER_CPU[$name]="$(awk -v a="$a" -v b="$b" -v w="$wrk_cpu" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", ((y[2] - x[2]) - (y[3] - x[3]) - (y[4] - x[4]) - w) / (y[1] - x[1]) * 100 }') %"
    echo "CPU during the run (100 % = one core): server ${SERVER_CPU[$name]}, postgres ${PG_CPU[$name]}, wrk ${WRK_CPU[$name]}, everything else ${OTHER_CPU[$name]} (machine $(percent "$a" "$b" 2) % of 200 %)"
    local bad
    bad=$(($(field non2xx) + $(field connect_errors) + $(field read_errors) + $(field write_errors) + $(field timeouts)))
    [[ $bad -eq 0 ]] || die "$name: $bad requests failed or were not 2xx (see above)"
}
# Where the server's CPU goes under the list's load: perf samples of the server process (the
# software clock: this virtual machine has no hardware counters), self time by function, in a
# separate run after the measured ones so that the sampling does not cost them anything.
profile() {
    local name=$1 path=$2
    command -v perf >/dev/null || {
        echo "(perf is missing: apt-get install linux-perf; no profile)"
        return
    }
    echo "== profile of the server under $name (perf record -e cpu-clock, 10 s)"
    wrk -t "$THREADS" -c "$CONNECTIONS" -d 14s -s bench/records.lua "$BASE$path" -- "$TOKENS" "$path" "$THREADS" >/dev/null &
    local wrk_pid=$!
    sleep 2
    perf record -q -e cpu-clock -F 997 -p "$SERVER_PID" -o "$STATE/perf-$name.data" -- sleep 10 2>/dev/null || true
    wait "$wrk_pid" || true
    perf report -i "$STATE/perf-$name.data" --stdio --no-children --sort dso,symbol >"$STATE/perf-$name.txt" 2>/dev/null || true
    # The 25 heaviest functions (perf pads its lines with spaces and dashes).
    awk '/^ +[0-9.]+%/ && n < 25 { sub(/[ -]+$/, ""); print substr($0, 1, 160); n++ }' "$STATE/perf-$name.txt" |
        tee "$STATE/profile-$name.txt"
}

# The baseline (BASELINE_BIN, optional): an earlier build measured first on the same database,
# tokens and machine, with the index that build had (migration 17 undone for it, redone after):
# "today's rate" side by side with this run's.
MIGRATION_17=infra/migrations/postgres/2026-12-03-000017_contributions_covering
# BASELINE_INDEX=current: a baseline built after migration 17 (an earlier commit of this work),
# measured on the index as it is.
BASELINE_INDEX=${BASELINE_INDEX:-before-17}
if [[ -n ${BASELINE_BIN:-} ]]; then
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN=$BASELINE_BIN is not an executable"
    if [[ $BASELINE_INDEX == before-17 ]]; then
        echo "== baseline: $("$BASELINE_BIN" --version) with the list's index before migration 17"
        started=$(date +%s.%N)
        psql_on "$DB" -f "$MIGRATION_17/down.sql"
        psql_on "$DB" -c "VACUUM (ANALYZE) contributions"
        echo "(index swapped back in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
    else
        echo "== baseline: $("$BASELINE_BIN" --version) on the current index"
    fi
    echo "-- baseline plan of the list:"
    explain_prepared list
    start_server "$BASELINE_BIN" "$STATE/baseline-time.txt"
    run_wrk base_list /v1/me/contributions
    run_wrk base_summary /v1/me/contributions/summary
    profile base_list /v1/me/contributions
    stop_server
    if [[ $BASELINE_INDEX == before-17 ]]; then
        echo "== migration 17 again for this build"
        psql_on "$DB" -f "$MIGRATION_17/up.sql"
        psql_on "$DB" -c "VACUUM (ANALYZE) contributions"
        echo "-- plan of the list again:"
        explain_prepared list >/dev/null
    fi
fi

start_server "$BIN" "$STATE/server-time.txt"
run_wrk list /v1/me/contributions
run_wrk summary /v1/me/contributions/summary
profile list /v1/me/contributions
profile summary /v1/me/contributions/summary

# The bulk loader, through the real endpoint: a JSON Lines file of new rows (work-injury and
# maternity months of employed persons, keys the seeded history does not hold), sent once (every
# line inserted) and again (every line unchanged).
import_post() {
    local label=$1 out code started finished
    started=$(date +%s.%N)
    code=$(curl -sS -o "$STATE/import-$label.json" -w '%{http_code}' -X POST \
        -H "authorization: Bearer $STAFF_TOKEN" -H 'content-type: application/x-ndjson' \
        --data-binary @"$IMPORT_FILE" "$BASE/v1/staff/contributions:import")
    finished=$(date +%s.%N)
    [[ $code == 200 ]] || die "import ($label) answered $code: $(head -c 300 "$STATE/import-$label.json")"
    IMPORT_SECS[$label]=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')
    IMPORT_RATE[$label]=$(awk -v n="$IMPORT_LINES" -v a="$started" -v b="$finished" 'BEGIN { printf "%.0f", n / (b - a) }')
    out=$(head -c 200 "$STATE/import-$label.json")
    echo "import ($label): $IMPORT_LINES lines in ${IMPORT_SECS[$label]} s = ${IMPORT_RATE[$label]} rows/s; answer: $out"
}
declare -A IMPORT_SECS IMPORT_RATE
# 20,000 persons, or 80 % of a smaller population: only the employed have the months it adds,
# and they are not always 90 % of a synthetic population (1,774 of 2,000; over 18,000 of 20,000).
IMPORT_PERSONS=${IMPORT_PERSONS:-$((PERSONS * 8 / 10 < 20000 ? PERSONS * 8 / 10 : 20000))}
IMPORT_MONTHS=${IMPORT_MONTHS:-25}
IMPORT_FILE="$STATE/import.jsonl"
echo "== the bulk loader: POST /v1/staff/contributions:import, $IMPORT_PERSONS persons × $IMPORT_MONTHS months × 2 insurances"
# A rerun (REUSE=1) starts from the seeded history alone.
psql_on "$DB" -c "DELETE FROM contributions WHERE insurance IN ('work_injury', 'maternity')"
psql_on "$DB" -c "VACUUM (ANALYZE) contributions"
# The delete and the vacuum wrote a lot of WAL: checkpoint now rather than during the import.
psql_on "$DB" -c "CHECKPOINT"
"$BIN" bench import-file --persons "$IMPORT_PERSONS" --months "$IMPORT_MONTHS" --out "$IMPORT_FILE"
IMPORT_LINES=$(wc -l <"$IMPORT_FILE")
STAFF_PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
STAFF_USER="bench$(date +%s)"
printf '%s\n' "$STAFF_PASSWORD" | "$BIN" admin create-staff --username "$STAFF_USER" --role caseworker >/dev/null
STAFF_TOKEN=$(curl -sS -X POST -H 'content-type: application/json' \
    -d "{\"username\": \"$STAFF_USER\", \"password\": \"$STAFF_PASSWORD\"}" "$BASE/v1/staff/auth/login" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n $STAFF_TOKEN ]] || die "the staff login failed"
wait_quiet
import_post new
grep -q "\"accepted\":$IMPORT_LINES," "$STATE/import-new.json" || die "the first import did not accept every line"
import_post unchanged
grep -q "\"unchanged\":$IMPORT_LINES," "$STATE/import-unchanged.json" || die "the second import did not find every line unchanged"

echo "== stopping the server"
stop_server
server_rss=-
if [[ -s $STATE/server-time.txt ]]; then
    server_rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); printf "%.0f", $2 / 1024 }' "$STATE/server-time.txt")
    echo "server peak RSS: $server_rss MiB; CPU $(awk -F: '/User time/ { gsub(/ /, "", $2); u = $2 } /System time/ { gsub(/ /, "", $2); s = $2 } END { print u " s user + " s " s system" }' "$STATE/server-time.txt")"
fi

echo "== pgbench -S -c $CONNECTIONS -j $THREADS -T $DURATION (scale $PGBENCH_SCALE, database $PGBENCH_DB)"
psql_on postgres -c "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $PGBENCH_DB"
pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -i -q -s "$PGBENCH_SCALE" "$PGBENCH_DB" 2>&1 | tail -1
wait_quiet
pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -S -n -c "$CONNECTIONS" -j "$THREADS" -T "$WARMUP" "$PGBENCH_DB" >/dev/null 2>&1
a=$(snapshot)
pg_out=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -S -n -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" "$PGBENCH_DB" 2>&1)
b=$(snapshot)
echo "$pg_out"
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$pg_out" | head -1)
pg_tps=$(awk -v t="$pg_tps" 'BEGIN { printf "%.1f", t }')
pg_lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$pg_out")
[[ -n $pg_tps ]] || die "no tps in pgbench's output"
PG_CPU[pgbench]="$(percent "$a" "$b" 4) %"
echo "CPU during the run: postgres ${PG_CPU[pgbench]}, machine $(percent "$a" "$b" 2) % of 200 % (the rest is pgbench itself and other work)"

# The same-SQL ceiling: PostgreSQL alone running each endpoint's statement, prepared, with the
# same persons' parameters over as many connections: one pgbench process (one client) per
# person, all at once, their rates added up.
declare -A CEIL_TPS CEIL_LAT
same_sql() {
    local name=$1 i=0 pids=() a b
    echo "== same SQL as $name: pgbench -M prepared -f $name.sql, $CONNECTIONS clients (one per person), ${DURATION} s"
    wait_quiet
    rm -f "$STATE"/ceiling-"$name"-*.txt
    a=$(snapshot)
    while IFS= read -r params; do
        i=$((i + 1))
        local defs=() j=0 value
        while IFS= read -r value; do
            j=$((j + 1))
            defs+=(-D "p$j=$value")
        done < <(tr '\t' '\n' <<<"$params")
        pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -M prepared -c 1 -j 1 -T "$DURATION" \
            -f "$STATE/$name.sql" "${defs[@]}" "$DB" >"$STATE/ceiling-$name-$i.txt" 2>&1 &
        pids+=($!)
        ((i < CONNECTIONS)) || break
    done < <(while :; do cat "$STATE/$name-params.txt"; done)
    for pid in "${pids[@]}"; do
        wait "$pid" || die "a pgbench client for $name failed: $(cat "$STATE"/ceiling-"$name"-*.txt | grep -i error | head -3)"
    done
    b=$(snapshot)
    CEIL_TPS[$name]=$(cat "$STATE"/ceiling-"$name"-*.txt | awk '/^tps = / { s += $3 } END { printf "%.1f", s }')
    CEIL_LAT[$name]=$(cat "$STATE"/ceiling-"$name"-*.txt | awk '/^latency average = / { s += $4; n++ } END { printf "%.2f", s / n }')
    echo "$name statement alone: ${CEIL_TPS[$name]} tps over $i clients, mean latency ${CEIL_LAT[$name]} ms; CPU: postgres $(percent "$a" "$b" 4) %, machine $(percent "$a" "$b" 2) % of 200 %"
}
same_sql list
same_sql summary

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", a / b * 100 }'; }
met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }

echo
echo "== summary: $PERSONS persons × $MONTHS months, $CONNECTIONS connections over $TOKEN_COUNT persons' tokens, ${DURATION} s each"
printf '%-30s %14s %14s %14s\n' "" list summary "pgbench -S"
printf '%-30s %14s %14s %14s\n' "requests/s" "${RPS[list]}" "${RPS[summary]}" "$pg_tps"
printf '%-30s %14s %14s %14s\n' "p50 latency (ms)" "${P50[list]}" "${P50[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "p99 latency (ms)" "${P99[list]}" "${P99[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "mean latency (ms)" "-" "-" "$pg_lat"
printf '%-30s %14s %14s %14s\n' "rate / pgbench -S" "$(ratio "${RPS[list]}" "$pg_tps")" "$(ratio "${RPS[summary]}" "$pg_tps")" "100 %"
printf '%-30s %14s %14s %14s\n' "same SQL alone (tps)" "${CEIL_TPS[list]}" "${CEIL_TPS[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "same SQL mean latency (ms)" "${CEIL_LAT[list]}" "${CEIL_LAT[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "rate / same SQL alone" "$(ratio "${RPS[list]}" "${CEIL_TPS[list]}")" "$(ratio "${RPS[summary]}" "${CEIL_TPS[summary]}")" "-"
printf '%-30s %14s %14s %14s\n' "server CPU" "${SERVER_CPU[list]}" "${SERVER_CPU[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "postgres CPU" "${PG_CPU[list]}" "${PG_CPU[summary]}" "${PG_CPU[pgbench]}"
printf '%-30s %14s %14s %14s\n' "wrk CPU" "${WRK_CPU[list]}" "${WRK_CPU[summary]}" "-"
printf '%-30s %14s %14s %14s\n' "other CPU (not ours)" "${OTHER_CPU[list]}" "${OTHER_CPU[summary]}" "-"
if [[ -n ${RPS[base_list]:-} ]]; then
    echo "baseline ($("$BASELINE_BIN" --version), index: $BASELINE_INDEX), same run:"
    printf '%-30s %14s %14s\n' "" list summary
    printf '%-30s %14s %14s\n' "requests/s" "${RPS[base_list]}" "${RPS[base_summary]}"
    printf '%-30s %14s %14s\n' "p50 latency (ms)" "${P50[base_list]}" "${P50[base_summary]}"
    printf '%-30s %14s %14s\n' "p99 latency (ms)" "${P99[base_list]}" "${P99[base_summary]}"
    printf '%-30s %14s %14s\n' "server CPU" "${SERVER_CPU[base_list]}" "${SERVER_CPU[base_summary]}"
    printf '%-30s %14s %14s\n' "postgres CPU" "${PG_CPU[base_list]}" "${PG_CPU[base_summary]}"
    printf '%-30s %14s %14s\n' "this build / baseline" "$(awk -v a="${RPS[list]}" -v b="${RPS[base_list]}" 'BEGIN { printf "%.2f×", a / b }')" "$(awk -v a="${RPS[summary]}" -v b="${RPS[base_summary]}" 'BEGIN { printf "%.2f×", a / b }')"
fi
echo "list plan:                     $LIST_PLAN"
echo "server peak RSS:               $server_rss MiB"
echo "seed (COPY, not the endpoint): ${rows_line:-"(REUSE=1: not seeded in this run)"}"
echo "bulk loader, new rows:         ${IMPORT_RATE[new]} rows/s ($IMPORT_LINES lines in ${IMPORT_SECS[new]} s)"
echo "bulk loader, unchanged rows:   ${IMPORT_RATE[unchanged]} rows/s ($IMPORT_LINES lines in ${IMPORT_SECS[unchanged]} s)"
echo "VACUUM (ANALYZE) after load:   $vacuum_secs s"
echo
echo "targets:"
echo "  list ≥ 70 % of the same SQL:    $(ratio "${RPS[list]}" "${CEIL_TPS[list]}") — $(met "${RPS[list]} >= 0.7 * ${CEIL_TPS[list]}")"
if [[ -n ${RPS[base_list]:-} ]]; then
    BASELINE_LIST_RPS=${RPS[base_list]}
fi
if [[ -n ${BASELINE_LIST_RPS:-} ]]; then
    echo "  list ≥ 2× the baseline ($BASELINE_LIST_RPS/s): $(awk -v a="${RPS[list]}" -v b="$BASELINE_LIST_RPS" 'BEGIN { printf "%.2f×", a / b }') — $(met "${RPS[list]} >= 2 * $BASELINE_LIST_RPS")"
fi
echo "  list p99 ≤ 30 ms:               ${P99[list]} ms — $(met "${P99[list]} <= 30")"
echo "  summary at least as fast:       $(awk -v a="${RPS[list]}" -v b="${RPS[summary]}" 'BEGIN { printf "%.2f× the list", b / a }') — $(met "${RPS[summary]} >= ${RPS[list]}")"
if [[ $server_rss != - ]]; then
    echo "  server peak RSS ≤ 100 MB:       $server_rss MiB — $(met "$server_rss * 1048576 <= 100000000")"
fi
echo "  loader ≥ 50,000 rows/s:         ${IMPORT_RATE[new]} rows/s new, ${IMPORT_RATE[unchanged]} unchanged — $(met "${IMPORT_RATE[new]} >= 50000")"
echo "  (for reference, the earlier targets: list ≥ 30 % of pgbench -S: $(ratio "${RPS[list]}" "$pg_tps"))"
echo "(output saved in $RESULT; keys, tokens and the server log in $STATE)"
