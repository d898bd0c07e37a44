#!/usr/bin/env bash
# The payment flows' throughput on PostgreSQL: orders created per second and gateway
# notifications processed per second (`shebao bench payments`), 10,000 each with 10 % repeated,
# against an in-process gateway stand-in; and, as the ceiling, pgbench running the SQL of one
# order's transaction with as many connections.
#
#   bench/payments.sh                                   # 10,000 orders, 10 % duplicates, 32 at a time
#   ORDERS=20000 CONCURRENCY=64 bench/payments.sh
#
# Needs a PostgreSQL server that the user postgres reaches without a password (PG_HOST, PG_PORT,
# default 127.0.0.1:5432). Drops and re-creates the database shebao_bench_pay. Honours
# CARGO_TARGET_DIR. A copy of the output goes to bench/results/ (not committed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

ORDERS=${ORDERS:-10000}
DUPLICATES=${DUPLICATES:-10}
CONCURRENCY=${CONCURRENCY:-32}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_pay
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/shebao
# One flexible-employment person in ten has three payable months: 4 persons per order is ample.
PERSONS=$((ORDERS * 4))

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shebao-bench-pay.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

mkdir -p bench/results
RESULT="bench/results/payments-$(date -u +%Y%m%dT%H%M%SZ)-${ORDERS}.txt"
exec > >(tee "$RESULT") 2>&1

echo "== bench/payments.sh: $ORDERS orders, $DUPLICATES % repeated, $CONCURRENCY at a time, PostgreSQL $PG_HOST:$PG_PORT/$DB"
echo "== building the release binary"
cargo build --release -p shebao-api
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 1; }
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || { echo "PostgreSQL is not ready at $PG_HOST:$PG_PORT" >&2; exit 1; }
echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version')"
echo "binary:      $("$BIN" --version)"

echo "== fresh database $DB with $PERSONS synthetic persons"
psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_GENERATE_KEYS=true SHEBAO_KEY_DIR="$WORK/keys" SHEBAO_DATA_DIR="$WORK" SHEBAO_LOG=warn
export SHEBAO_DB_POOL_SIZE=${POOL:-16}
"$BIN" migrate >/dev/null
"$BIN" seed --persons "$PERSONS" --seed 42

echo "== shebao bench payments (pool $SHEBAO_DB_POOL_SIZE)"
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$WORK/time.txt" "$BIN" bench payments --orders "$ORDERS" --duplicates "$DUPLICATES" --concurrency "$CONCURRENCY"
    grep -E "Maximum resident|User time|System time|Elapsed" "$WORK/time.txt" | sed 's/^\s*/  /'
else
    "$BIN" bench payments --orders "$ORDERS" --duplicates "$DUPLICATES" --concurrency "$CONCURRENCY"
fi

# The ceiling: the statements of one order's transaction (create_payment in
# infra/src/payments/store.rs: look up the key, check the claim, insert the payment, its claim and
# its first event, read it back), prepared, on as many connections, for 20 s. Each client works on
# keys of its own.
cat >"$WORK/order.sql" <<'SQL'
\set n random(1, 1000000000)
BEGIN;
SELECT id FROM payments WHERE person_id = 'bench-ceiling' AND idempotency_key = 'k' || :client_id || '-' || :n;
SELECT payment_id FROM payment_claims WHERE claim_key = 'ceiling:' || :client_id || ':' || :n;
INSERT INTO payments (id, person_id, idempotency_key, request_hash, channel, out_trade_no, status, amount_fen, items, description, expires_at, version, created_at, updated_at)
  VALUES (gen_random_uuid()::text, (SELECT id FROM persons LIMIT 1), 'k' || :client_id || '-' || :n || '-' || random(), 'h', 'wechat', 'C' || md5(random()::text), 'awaiting_payment', 100, '[]', 'bench', now(), 0, now(), now())
  RETURNING id \gset
INSERT INTO payment_claims (claim_key, payment_id, settled, created_at) VALUES ('ceiling:' || :client_id || ':' || :n || ':' || random(), :id, 0, now());
INSERT INTO payment_events (id, payment_id, at, status, detail) VALUES (gen_random_uuid()::text, :id, now(), 'awaiting_payment', 'order created');
SELECT * FROM payments WHERE id = :id;
COMMIT;
SQL
echo "== ceiling: pgbench -M prepared -c $CONCURRENCY -T 20 (one order's SQL)"
PGOPTIONS="-c client_min_messages=warning" pgbench -n -M prepared -h "$PG_HOST" -p "$PG_PORT" -U postgres \
    -c "$CONCURRENCY" -j 2 -T 20 -f "$WORK/order.sql" "$DB" 2>&1 | grep -E "tps|latency average|number of transactions"
