#!/usr/bin/env bash
# The notices benchmark: the audience size of a notice over a million persons on PostgreSQL.
# In one run: GET /v1/staff/notices/{id}/audience-size under wrk (release server), the very
# count SQL the server runs (`shebao bench notice-sql`) under `pgbench -f`, and `pgbench -S`,
# each with the same number of clients; `EXPLAIN (ANALYZE, BUFFERS)` of the count. Three
# notices: a job fair for the unemployed of Shenzhen of working age (the persons' own columns),
# a reminder for flexible workers with a month in arrears (their unpaid months) and one for
# pensioners of 60 and over (their benefit payments). See bench/README.md.
#
#   bench/notices.sh                       # 1,000,000 persons
#   PERSONS=100000 bench/notices.sh        # a tenth, to try it out
#   REUSE=1 bench/notices.sh               # keep the seeded database, measure again
#
# Needs: a PostgreSQL server that the user postgres reaches without a password (PG_HOST,
# PG_PORT, default 127.0.0.1:5432), psql and pgbench, wrk, curl and jq. Drops and re-creates the
# databases shebao_bench_notices and shebao_bench_notices_pgbench. Honours CARGO_TARGET_DIR.
# Everything listens on and talks to 127.0.0.1 only. A copy of the output goes to
# bench/results/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

PERSONS=${PERSONS:-1000000}
SEED=${SEED:-42}
CLIENTS=${CLIENTS:-2}          # wrk connections = pgbench clients (a count keeps a core busy)
DURATION=${DURATION:-15}       # seconds of each measured run
WARMUP=${WARMUP:-3}            # seconds of an unmeasured run before each measured one
PORT=${PORT:-18090}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
REUSE=${REUSE:-0}              # 1: keep the database and keys of the previous run
QUIET_WAIT=${QUIET_WAIT:-30}   # seconds to wait for other work on the machine to calm down
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_notices
PGBENCH_DB=shebao_bench_notices_pgbench
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/shebao
STATE=${STATE:-${TMPDIR:-/tmp}/shebao-bench-notices}
BASE=http://127.0.0.1:$PORT

die() {
    echo "bench/notices.sh: $*" >&2
    exit 1
}

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}

for tool in psql pgbench pg_isready wrk curl jq awk; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

mkdir -p bench/results "$STATE"
chmod 700 "$STATE"
RESULT="bench/results/notices-$(date -u +%Y%m%dT%H%M%SZ)-${PERSONS}.txt"
exec > >(tee "$RESULT") 2>&1

SERVER_PID=
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap stop_server EXIT

# wrk's latency figure in milliseconds (`812.34us`, `1.20ms`, `2.01s`).
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "%s", v }'
}

echo "== bench/notices.sh: audience size over $PERSONS persons (seed $SEED) on PostgreSQL $PG_HOST:$PG_PORT/$DB, $CLIENTS clients"
echo "== building the release binary"
cargo build --release -p shebao-api
[[ -x $BIN ]] || die "no binary at $BIN"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL is not ready at $PG_HOST:$PG_PORT"

echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version')"
echo "pg settings: $(psql_on postgres -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'effective_cache_size', 'jit')")"
echo "binary:      $("$BIN" --version)"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_KEY_DIR="$STATE/keys"
export SHEBAO_DATA_DIR="$STATE"
export SHEBAO_LOG=warn
export SHEBAO_ACCESS_TOKEN_TTL_SECS=3600

exists=$(psql_on postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")
if [[ $REUSE == 1 && $exists == 1 && -d $SHEBAO_KEY_DIR ]]; then
    echo "== REUSE=1: keeping $DB and the keys in $SHEBAO_KEY_DIR"
else
    echo "== fresh database $DB"
    psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    psql_on postgres -c "CREATE DATABASE $DB"
    rm -rf "$SHEBAO_KEY_DIR"
    SHEBAO_GENERATE_KEYS=true "$BIN" migrate
    echo "== shebao seed --persons $PERSONS --seed $SEED"
    started=$(date +%s.%N)
    # (Without its progress lines.)
    "$BIN" seed --persons "$PERSONS" --seed "$SEED" 2>&1 | grep -v ' persons$'
    finished=$(date +%s.%N)
    echo "seed wall time: $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s"
    # The synthetic persons are employed (90 %) or in flexible employment (10 %). Give them
    # the rest of what a rule reads, deterministically by their (random) ids: 6 % of the
    # employed out of work and 9 % retired, each with three months of benefit paid; two months
    # of pension contributions for everyone, paid, but for a quarter of the flexible workers who
    # left the older one unpaid (in arrears). Two million contribution rows: the unpaid ones
    # are a small part, as they are in real records.
    echo "== the rest of the facts a rule reads"
    started=$(date +%s.%N)
    cat >"$STATE/facts.sql" <<'SQL'
UPDATE persons SET employment_status = CASE
    WHEN get_byte(decode(substr(id, 1, 2), 'hex'), 0) < 16 THEN 'unemployed'
    WHEN get_byte(decode(substr(id, 1, 2), 'hex'), 0) < 42 THEN 'retired'
    ELSE employment_status END
WHERE employment_status = 'employed';
INSERT INTO contributions (id, person_id, employer_id, employer_key, period, insurance,
    declared_wage_fen, base_fen, employer_fen, employee_fen, status, paid_at, created_at, updated_at)
SELECT gen_random_uuid()::text, p.id, NULL, '',
       to_char(date_trunc('month', now()) - make_interval(months => k), 'YYYY-MM'),
       'pension', 600000, 600000, 0, 120000, s.status,
       CASE s.status WHEN 'paid' THEN now() END, now(), now()
FROM persons p CROSS JOIN generate_series(1, 2) AS k
CROSS JOIN LATERAL (SELECT CASE
    WHEN k = 2 AND p.employment_status = 'flexible'
         AND get_byte(decode(substr(p.id, 3, 2), 'hex'), 0) < 64 THEN 'due'
    ELSE 'paid' END AS status) s;
INSERT INTO benefit_payments (id, external_id, person_id, kind, period, amount_fen, paid_at, created_at)
SELECT gen_random_uuid()::text, 'BENCH-' || p.id || '-' || k, p.id,
       CASE p.employment_status WHEN 'retired' THEN 'pension' ELSE 'unemployment' END,
       to_char(date_trunc('month', now()) - make_interval(months => k), 'YYYY-MM'), 300000, now(), now()
FROM persons p CROSS JOIN generate_series(1, 3) AS k
WHERE p.employment_status IN ('retired', 'unemployed');
SQL
    psql_on "$DB" -f "$STATE/facts.sql"
    psql_on "$DB" -c "VACUUM (ANALYZE) persons, contributions, benefit_payments, benefit_awards, regions"
    finished=$(date +%s.%N)
    echo "facts and VACUUM (ANALYZE): $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s"
fi

echo "== database"
psql_on "$DB" -F ' ' -c "SELECT 'persons by status:', string_agg(employment_status || ' ' || n, ', ' ORDER BY employment_status) FROM (SELECT employment_status, count(*) AS n FROM persons GROUP BY 1) s"
psql_on "$DB" -c "SELECT 'contribution rows: ' || count(*) FROM contributions"
psql_on "$DB" -c "SELECT 'benefit payments: ' || count(*) FROM benefit_payments"
psql_on "$DB" -F ' ' -c "SELECT 'size of ' || relname || ':', pg_size_pretty(pg_relation_size(oid)) FROM pg_class WHERE relname IN ('persons', 'persons_audience_idx', 'contributions', 'contributions_unpaid_idx', 'benefit_payments', 'benefit_payments_recent_idx') ORDER BY relname"

echo "== starting the server on $BASE (jobs off: nothing else runs in it)"
SHEBAO_LISTEN="127.0.0.1:$PORT" SHEBAO_JOBS=off SHEBAO_DEMO_SEED=false \
    SHEBAO_SMS_STANDIN=true SHEBAO_SMS_STANDIN_LISTEN=127.0.0.1:0 \
    SHEBAO_PAY_STANDIN=true SHEBAO_PAY_STANDIN_LISTEN=127.0.0.1:0 \
    SHEBAO_METRICS_LISTEN=127.0.0.1:0 \
    "$BIN" serve >"$STATE/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 120); do
    curl -sf -o /dev/null "$BASE/readyz" && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited (see $STATE/server.log)"
    [[ $i == 120 ]] && die "the server is not ready after 60 s (see $STATE/server.log)"
    sleep 0.5
done

STAFF_PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
STAFF_USER="bench$(date +%s)"
printf '%s\n' "$STAFF_PASSWORD" | "$BIN" admin create-staff --username "$STAFF_USER" --role admin >/dev/null
TOKEN=$(jq -n --arg u "$STAFF_USER" --arg p "$STAFF_PASSWORD" '{username: $u, password: $p}' |
    curl -sf -X POST -H 'content-type: application/json' --data-binary @- "$BASE/v1/staff/auth/login" | jq -r .access_token)
[[ -n $TOKEN && $TOKEN != null ]] || die "the staff login failed"

# name|kind|title|audience
NOTICES=(
    'jobfair|job|深圳市冬季大型招聘会|{"regions": ["440300"], "employment_status": ["unemployed"], "age_min": 16, "age_max": 59}'
    'arrears|service|灵活就业人员补缴提醒|{"employment_status": ["flexible"], "has_arrears": true}'
    'pensioners|service|养老保险待遇资格认证提醒|{"receives": ["pension"], "age_min": 60}'
)

declare -A ID PERSONS_OF RPS P50 P99 SERVER_CPU PG_CPU SQL_TPS SQL_LAT SQL_CPU
for spec in "${NOTICES[@]}"; do
    IFS='|' read -r name kind title audience <<<"$spec"
    body=$(jq -n --arg kind "$kind" --arg title "$title" --argjson audience "$audience" \
        '{kind: $kind, title: $title, body: "基准测试", audience: $audience, expire_at: (now + 7 * 86400 | todate)}')
    ID[$name]=$(curl -sf -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
        -d "$body" "$BASE/v1/staff/notices" | jq -r .id)
    [[ ${ID[$name]} =~ ^[0-9a-f-]{36}$ ]] || die "publishing $name failed"
    echo
    echo "== $name: $audience"
    started=$(date +%s.%N)
    size=$(curl -sf -H "authorization: Bearer $TOKEN" "$BASE/v1/staff/notices/${ID[$name]}/audience-size")
    finished=$(date +%s.%N)
    PERSONS_OF[$name]=$(jq -r .persons <<<"$size")
    echo "GET …/audience-size: $size (first call $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms)"

    sql_file="$STATE/$name.sql"
    "$BIN" bench notice-sql --notice "${ID[$name]}" >"$sql_file"
    echo "-- the count the server runs (shebao bench notice-sql):"
    cat "$sql_file"
    counted=$(psql_on "$DB" -f "$sql_file")
    [[ $counted == "${PERSONS_OF[$name]}" ]] || die "$name: the SQL counts $counted, the endpoint ${PERSONS_OF[$name]}"
    # As the server runs it: in a transaction with the JIT off (`audience::count`).
    tx_file="$STATE/$name-tx.sql"
    { echo "BEGIN;"; echo "SET LOCAL jit = off;"; cat "$sql_file"; echo "COMMIT;"; } >"$tx_file"
    echo "-- EXPLAIN (ANALYZE, BUFFERS), with jit = off as the server sets it:"
    psql_on "$DB" -c "SET jit = off" -c "EXPLAIN (ANALYZE, BUFFERS) $(sed 's/;$//' "$sql_file")"

    echo "-- wrk: GET /v1/staff/notices/{id}/audience-size, $CLIENTS connections, ${WARMUP} s warm-up + ${DURATION} s"
    url="$BASE/v1/staff/notices/${ID[$name]}/audience-size"
    wait_quiet
    wrk -t "$CLIENTS" -c "$CLIENTS" -d "${WARMUP}s" -H "authorization: Bearer $TOKEN" "$url" >/dev/null
    a=$(snapshot)
    out=$(wrk -t "$CLIENTS" -c "$CLIENTS" -d "${DURATION}s" --timeout 30s --latency -H "authorization: Bearer $TOKEN" "$url")
    b=$(snapshot)
    echo "$out"
    grep -q 'Non-2xx' <<<"$out" && die "$name: some answers were not 2xx"
    RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    SERVER_CPU[$name]="$(percent "$a" "$b" 3) %"
    PG_CPU[$name]="$(percent "$a" "$b" 4) %"
    echo "CPU (100 % = one core): server ${SERVER_CPU[$name]}, postgres ${PG_CPU[$name]}, machine $(percent "$a" "$b" 2) % of $(($(nproc) * 100)) %"

    echo "-- pgbench -f (the same SQL in the same transaction), $CLIENTS clients, ${WARMUP} s warm-up + ${DURATION} s"
    wait_quiet
    pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -f "$tx_file" -c "$CLIENTS" -j "$CLIENTS" -T "$WARMUP" "$DB" >/dev/null 2>&1
    a=$(snapshot)
    pg_out=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -f "$tx_file" -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" "$DB" 2>&1)
    b=$(snapshot)
    echo "$pg_out" | grep -E '^(tps|latency|number of transactions actually)'
    SQL_TPS[$name]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$pg_out" | head -1)
    SQL_LAT[$name]=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$pg_out")
    SQL_CPU[$name]="$(percent "$a" "$b" 4) %"
    [[ -n ${SQL_TPS[$name]} ]] || die "no tps in pgbench's output"
done

echo
echo "== stopping the server"
stop_server

echo "== pgbench -S -c $CLIENTS -j $CLIENTS -T $DURATION (scale $PGBENCH_SCALE, database $PGBENCH_DB)"
psql_on postgres -c "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $PGBENCH_DB"
pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -i -q -s "$PGBENCH_SCALE" "$PGBENCH_DB" 2>&1 | tail -1
wait_quiet
pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -S -n -c "$CLIENTS" -j "$CLIENTS" -T "$WARMUP" "$PGBENCH_DB" >/dev/null 2>&1
a=$(snapshot)
s_out=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -S -n -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" "$PGBENCH_DB" 2>&1)
b=$(snapshot)
echo "$s_out" | grep -E '^(tps|latency)'
S_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$s_out" | head -1)
S_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$s_out")
[[ -n $S_TPS ]] || die "no tps in pgbench -S's output"
echo "CPU: postgres $(percent "$a" "$b" 4) %, machine $(percent "$a" "$b" 2) %"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", a / b * 100 }'; }
echo
echo "== summary: $PERSONS persons, $CLIENTS clients, ${DURATION} s each, load $(cut -d' ' -f1-3 /proc/loadavg)"
COLS=(jobfair arrears pensioners)
# One line of the summary: a label, then the figure (the function given) of each notice.
row() {
    local label=$1 name
    shift
    printf '%-34s' "$label"
    for name in "${COLS[@]}"; do
        printf ' %16s' "$("$@" "$name")"
    done
    printf '\n'
}
persons_of() { echo "${PERSONS_OF[$1]}"; }
rps_of() { echo "${RPS[$1]}"; }
lat_of() { echo "${P50[$1]} / ${P99[$1]}"; }
sql_tps_of() { echo "${SQL_TPS[$1]}"; }
sql_lat_of() { echo "${SQL_LAT[$1]}"; }
vs_sql() { ratio "${RPS[$1]}" "${SQL_TPS[$1]}"; }
vs_s() { ratio "${RPS[$1]}" "$S_TPS"; }
server_cpu_of() { echo "${SERVER_CPU[$1]}"; }
pg_cpu_of() { echo "${PG_CPU[$1]}"; }
sql_cpu_of() { echo "${SQL_CPU[$1]}"; }
printf '%-34s' ""
printf ' %16s' "${COLS[@]}"
printf '\n'
row "persons reached" persons_of
row "endpoint requests/s" rps_of
row "endpoint p50 / p99 (ms)" lat_of
row "the count SQL, pgbench -f (tps)" sql_tps_of
row "the count SQL, mean latency (ms)" sql_lat_of
row "endpoint / its SQL" vs_sql
row "endpoint / pgbench -S" vs_s
row "server CPU (endpoint run)" server_cpu_of
row "postgres CPU (endpoint run)" pg_cpu_of
row "postgres CPU (pgbench -f run)" sql_cpu_of
echo "pgbench -S: $S_TPS tps, mean latency $S_LAT ms ($CLIENTS clients)"
echo "(output saved in $RESULT; keys and the server log in $STATE)"
