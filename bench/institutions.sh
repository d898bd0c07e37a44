#!/usr/bin/env bash
# The "near me" benchmark (issue 18): 50,000 designated institutions around twelve cities loaded
# through POST /v1/staff/institutions:import on PostgreSQL, then, in the same run and on the same
# server, under wrk at 64 connections:
#   - GET /v1/institutions near 64 points (5 km, the first page of 50), anonymous;
#   - the same with a bound person's token (each institution's `covered` computed);
#   - GET /v1/me/contributions (a records list: the issue's yardstick, "in the time of a records
#     list"), on synthetic persons with ten years of history;
# and pgbench: -S on its own database, and -f with the endpoint's own statements for the same 64
# persons (the search reads the server's in-memory copy of the institutions and runs no SQL; with a
# token it reads what coverage needs to know about the person: one statement). The server's peak
# RSS is read before it stops (the copy of 50,000 institutions is in it). See bench/README.md.
#
#   bench/institutions.sh                          # 50,000 institutions
#   INSTITUTIONS=5000 DURATION=10 bench/institutions.sh   # a quick try
#
# Needs: a PostgreSQL server that the user postgres reaches without a password (PG_HOST, PG_PORT,
# default 127.0.0.1:5432), psql and pgbench, wrk (Debian: apt-get install wrk), curl, jq, awk.
# Drops and re-creates the databases shebao_bench_institutions and shebao_bench_pgbench_near. Honours
# CARGO_TARGET_DIR. Everything listens on and talks to 127.0.0.1 only. A copy of the output goes
# to bench/results/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

INSTITUTIONS=${INSTITUTIONS:-50000}
SEED=${SEED:-42}
PERSONS=${PERSONS:-1000}         # synthetic persons (tokens, and the records list's yardstick)
MONTHS=${MONTHS:-120}            # their months of history
CONNECTIONS=${CONNECTIONS:-64}   # wrk connections = pgbench clients
POINTS=${POINTS:-64}             # query points the load rotates through
DURATION=${DURATION:-30}         # seconds of each measured run
WARMUP=${WARMUP:-5}              # seconds of an unmeasured run before each measured one
THREADS=${THREADS:-$(nproc)}     # wrk threads and pgbench -j
POOL=${POOL:-8}                  # the server's SHEBAO_DB_POOL_SIZE
WORKERS=${WORKERS:-$(nproc)}     # the server's SHEBAO_WORKERS
PORT=${PORT:-18095}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_institutions
PGBENCH_DB=shebao_bench_pgbench_near
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/shebao
STATE=${STATE:-${TMPDIR:-/tmp}/shebao-bench-institutions}
BASE=http://127.0.0.1:$PORT

die() {
    echo "bench/institutions.sh: $*" >&2
    exit 1
}

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}

for tool in psql pgbench pg_isready wrk curl jq awk; do
    command -v "$tool" >/dev/null || die "$tool is missing (wrk: apt-get install wrk)"
done

mkdir -p bench/results "$STATE"
chmod 700 "$STATE"
RESULT="bench/results/institutions-$(date -u +%Y%m%dT%H%M%SZ)-${INSTITUTIONS}.txt"
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

QUIET_WAIT=${QUIET_WAIT:-300}

echo "== bench/institutions.sh: $INSTITUTIONS institutions (seed $SEED) on PostgreSQL $PG_HOST:$PG_PORT/$DB"
echo "== building the release binary"
cargo build --release -p shebao-api
[[ -x $BIN ]] || die "no binary at $BIN"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL is not ready at $PG_HOST:$PG_PORT"

echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version')"
echo "pg settings: $(psql_on postgres -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'work_mem', 'effective_cache_size')")"
echo "binary:      $("$BIN" --version)"
echo "wrk:         $(wrk -v 2>&1 | head -1)"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_KEY_DIR="$STATE/keys"
export SHEBAO_DATA_DIR="$STATE"
export SHEBAO_LOG=warn
export SHEBAO_ACCESS_TOKEN_TTL_SECS=3600

echo "== fresh database $DB: the demo's regions, $PERSONS synthetic persons × $MONTHS months"
psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $DB"
rm -rf "$SHEBAO_KEY_DIR"
SHEBAO_GENERATE_KEYS=true "$BIN" migrate
"$BIN" seed --demo
"$BIN" seed --persons "$PERSONS" --seed "$SEED" --history-months "$MONTHS"

echo "== starting the server on $BASE (pool $POOL, workers $WORKERS)"
env SHEBAO_LISTEN="127.0.0.1:$PORT" SHEBAO_DB_POOL_SIZE="$POOL" SHEBAO_WORKERS="$WORKERS" \
    SHEBAO_SMS_STANDIN_LISTEN=127.0.0.1:0 SHEBAO_SMS_STANDIN=true SHEBAO_PAY_STANDIN=true \
    SHEBAO_PAY_STANDIN_LISTEN=127.0.0.1:0 SHEBAO_METRICS_LISTEN=127.0.0.1:0 SHEBAO_DEMO_SEED=false \
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
ADMIN=$(jq -n --arg u "$STAFF_USER" --arg p "$STAFF_PASSWORD" '{username: $u, password: $p}' |
    curl -sf -X POST -H 'content-type: application/json' --data-binary @- "$BASE/v1/staff/auth/login" | jq -r .access_token)
[[ -n $ADMIN && $ADMIN != null ]] || die "the staff login failed"

# Twelve cities: region code, name, centre. The demo holds Shenzhen and Beijing; the others are
# registered here through the staff API.
CITIES="440300 深圳市 22.5431 114.0579
110000 北京市 39.9042 116.4074
310000 上海市 31.2304 121.4737
440100 广州市 23.1291 113.2644
510100 成都市 30.5728 104.0668
330100 杭州市 30.2741 120.1551
420100 武汉市 30.5928 114.3055
610100 西安市 34.3416 108.9398
320100 南京市 32.0603 118.7969
500000 重庆市 29.5630 106.5516
120000 天津市 39.3434 117.3616
430100 长沙市 28.2282 112.9388"
while read -r code name _ _; do
    curl -sf -o /dev/null -X PUT -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
        -d "{\"name\": \"$name\", \"time_zone\": \"Asia/Shanghai\"}" "$BASE/v1/staff/regions/$code" ||
        die "PUT /v1/staff/regions/$code failed"
done <<<"$CITIES"

# The institutions: an equal share per city, scattered around its centre (a normal distribution,
# σ = 12 km, by Box–Muller): 60 % pharmacies, 25 % clinics, 15 % hospitals of grades 1–3.
CITIES_FILE="$STATE/cities.txt"
echo "$CITIES" >"$CITIES_FILE"
FILE="$STATE/institutions.jsonl"
awk -v n="$INSTITUTIONS" -v seed="$SEED" -v cities="$CITIES_FILE" 'BEGIN {
    srand(seed); pi = atan2(0, -1); sigma = 12
    m = 0
    while ((getline line < cities) > 0) { m++; split(line, f, " "); code[m] = f[1]; city[m] = f[2]; clat[m] = f[3]; clon[m] = f[4] }
    split("内科 外科 儿科 妇产科 眼科 口腔科 急诊科 骨科 皮肤科 中医科", dept, " ")
    for (i = 0; i < n; i++) {
        c = i % m + 1
        r = sqrt(-2 * log(1 - rand())) * sigma; a = 2 * pi * rand()
        lat = clat[c] + r * sin(a) / 111.195
        lon = clon[c] + r * cos(a) / (111.195 * cos(clat[c] * pi / 180))
        k = rand()
        if (k < 0.60) { kind = "pharmacy"; level = "null"; ds = ""; label = "康民大药房（第" i "店）"; cats = "[\"employee\"]" }
        else if (k < 0.85) { kind = "clinic"; level = "1"; ds = "\"全科\",\"中医科\""; label = "社区健康服务中心（第" i "号）"; cats = "[\"employee\",\"resident\"]" }
        else {
            kind = "hospital"; level = int(1 + rand() * 3); label = "第" i "人民医院"; cats = "[\"employee\",\"resident\"]"
            ds = ""; nd = 3 + int(rand() * 6)
            for (d = 1; d <= nd; d++) ds = ds (d > 1 ? "," : "") "\"" dept[d] "\""
        }
        printf "{\"code\":\"B%s%06d\",\"name\":\"%s%s\",\"kind\":\"%s\",\"level\":%s,\"region\":\"%s\",\"address\":\"%s测试路%d号\",\"phone\":\"400-800-%04d\",\"latitude\":%.6f,\"longitude\":%.6f,\"medical_categories\":%s,\"departments\":[%s],\"accepts_filed_elsewhere\":%s}\n", \
            code[c], i, city[c], label, kind, level, code[c], city[c], i % 9000 + 1, i % 10000, lat, lon, cats, ds, (kind == "hospital" ? "true" : "false")
    }
}' >"$FILE"
LINES=$(wc -l <"$FILE")
echo "== the loader: POST /v1/staff/institutions:import, $LINES lines ($(du -h "$FILE" | cut -f1))"
import_post() {
    local label=$1 started finished
    started=$(date +%s.%N)
    curl -sS -o "$STATE/import-$label.json" -X POST -H "authorization: Bearer $ADMIN" \
        -H 'content-type: application/x-ndjson' --data-binary @"$FILE" "$BASE/v1/staff/institutions:import"
    finished=$(date +%s.%N)
    IMPORT_SECS[$label]=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')
    IMPORT_RATE[$label]=$(awk -v n="$LINES" -v a="$started" -v b="$finished" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "import ($label): ${IMPORT_SECS[$label]} s = ${IMPORT_RATE[$label]} rows/s; answer: $(head -c 200 "$STATE/import-$label.json")"
}
declare -A IMPORT_SECS IMPORT_RATE
import_post new
[[ $(jq .accepted "$STATE/import-new.json") == "$LINES" ]] || die "the import did not accept every line"
import_post unchanged
[[ $(jq .unchanged "$STATE/import-unchanged.json") == "$LINES" ]] || die "the second import did not find every line unchanged"
psql_on "$DB" -c "VACUUM (ANALYZE) institutions, institution_departments"
psql_on "$DB" -F ' ' -c "SELECT 'institutions: ' || count(*) FROM institutions"
psql_on "$DB" -F ' ' -c "SELECT 'size of ' || relname || ':', pg_size_pretty(pg_relation_size(oid)) FROM pg_class WHERE relname IN ('institutions', 'institutions_pkey', 'institution_departments') ORDER BY relname"

# The query points: around the city centres (σ = 4 km).
POINTS_FILE="$STATE/points.txt"
awk -v n="$POINTS" -v seed="$SEED" -v cities="$CITIES_FILE" 'BEGIN {
    srand(seed + 1); pi = atan2(0, -1); R = 6371008.8; radius = 5000
    m = 0
    while ((getline line < cities) > 0) lines[++m] = line
    for (i = 0; i < n; i++) {
        split(lines[i % m + 1], f, " ")
        r = sqrt(-2 * log(1 - rand())) * 4; a = 2 * pi * rand()
        lat = f[3] + r * sin(a) / 111.195; lon = f[4] + r * cos(a) / (111.195 * cos(f[3] * pi / 180))
        printf "%.6f %.6f\n", lat, lon
    }
}' >"$POINTS_FILE"
PATHS="$STATE/paths.txt"
awk '{ printf "/v1/institutions?lat=%s&lon=%s\n", $1, $2 }' "$POINTS_FILE" >"$PATHS"

echo "== $CONNECTIONS access tokens of synthetic persons"
TOKENS="$STATE/tokens.txt"
"$BIN" bench tokens --count "$CONNECTIONS" --out "$TOKENS"

# Each point's first page (to check the answers).
echo "== the first page at each point"
total=0 i=0 RADII=()
while read -r lat lon; do
    i=$((i + 1))
    page=$(curl -sf "$BASE/v1/institutions?lat=$lat&lon=$lon") || die "GET at $lat,$lon failed"
    count=$(jq '.items | length' <<<"$page")
    total=$((total + count))
    # The circle the server settled the page in: the first of its widening circles (2, 4, 5 km)
    # that reaches the page's last institution (the whole 5 km when the page is not full).
    last=$(jq '.items[-1].distance_m // 5000' <<<"$page")
    radius=5000
    if ((count == 50)); then
        for r in 2000 4000 5000; do
            if ((last <= r)); then radius=$r; break; fi
        done
    fi
    RADII+=("$radius")
    if ((i == 1)); then
        echo "point 1 ($lat, $lon): $count institutions on the first page, $(jq -c '[.items[:3][] | {code, distance_m}]' <<<"$page")"
        jq -c '.items[0] | {code, kind, distance_m, geo_uri}' <<<"$page"
    fi
done <"$POINTS_FILE"
echo "$total institutions on $POINTS first pages ($((total / POINTS)) a page on average); settled at radius (m): $(printf '%s\n' "${RADII[@]}" | sort -n | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')"
# The statement a search with a token runs (what coverage needs to know about the person), for
# the persons behind the tokens (bench tokens binds the first COUNT by card number), as
# PostgreSQL receives it with its values written in: one pgbench script per person.
PGSCRIPTS="$STATE/pgbench"
rm -rf "$PGSCRIPTS"
mkdir -p "$PGSCRIPTS"
psql_on "$DB" -c "SELECT p.id FROM persons p JOIN accounts a ON a.person_id = p.id ORDER BY p.card_number LIMIT $CONNECTIONS" >"$STATE/persons.txt"
[[ $(wc -l <"$STATE/persons.txt") -eq $CONNECTIONS ]] || die "expected $CONNECTIONS bound persons"
i=0
while read -r pid; do
    i=$((i + 1))
    "$BIN" bench near-statements --person "$pid" | sed 's/$/;/' >"$PGSCRIPTS/person-$i.sql"
    [[ $(wc -l <"$PGSCRIPTS/person-$i.sql") -eq 1 ]] || die "near-statements did not give one statement for $pid"
done <"$STATE/persons.txt"
echo "== the statement of a search with a token, and its plan (person 1)"
while IFS= read -r sql; do
    echo "$sql"
    psql_on "$DB" -c "EXPLAIN (ANALYZE, BUFFERS) ${sql%;}"
done <"$PGSCRIPTS/person-1.sql"

declare -A RPS P50 P99 SERVER_CPU PG_CPU
run_wrk() {
    local name=$1 paths=$2 tokens=${3:-}
    echo "== $name: $CONNECTIONS connections, $THREADS threads, ${WARMUP} s warm-up + ${DURATION} s"
    wait_quiet
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s bench/institutions.lua "$BASE" -- "$paths" "$THREADS" $tokens >/dev/null
    local a b out
    a=$(snapshot)
    out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency -s bench/institutions.lua "$BASE" -- "$paths" "$THREADS" $tokens)
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
    echo "CPU during the run (100 % = one core): server ${SERVER_CPU[$name]}, postgres ${PG_CPU[$name]} (machine $(percent "$a" "$b" 2) % of $(($(nproc) * 100)) %; load $(cut -d' ' -f1-3 /proc/loadavg))"
    local bad
    bad=$(($(field non2xx) + $(field connect_errors) + $(field read_errors) + $(field write_errors) + $(field timeouts)))
    [[ $bad -eq 0 ]] || die "$name: $bad requests failed or were not 2xx (see above)"
}
run_wrk near "$PATHS"
run_wrk near_token "$PATHS" "$TOKENS"
RECORDS="$STATE/records-paths.txt"
echo /v1/me/contributions >"$RECORDS"
run_wrk records "$RECORDS" "$TOKENS"

SERVER_RSS=$(awk '/^VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVER_PID/status")
echo "== stopping the server (peak RSS $SERVER_RSS)"
stop_server

run_pgbench() {
    local name=$1 db=$2
    shift 2
    wait_quiet
    pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$CONNECTIONS" -j "$THREADS" -T "$WARMUP" "$@" "$db" >/dev/null 2>&1
    local a b out
    a=$(snapshot)
    out=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" "$@" "$db" 2>&1)
    b=$(snapshot)
    echo "$out" | grep -E '^(tps|latency|number of (transactions|failed))'
    RPS[$name]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
    RPS[$name]=$(awk -v t="${RPS[$name]}" 'BEGIN { printf "%.1f", t }')
    P50[$name]=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
    PG_CPU[$name]="$(percent "$a" "$b" 4) %"
    [[ -n ${RPS[$name]} ]] || die "no tps in pgbench's output"
    echo "CPU during the run: postgres ${PG_CPU[$name]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
}
echo "== pgbench -S -c $CONNECTIONS -j $THREADS -T $DURATION (scale $PGBENCH_SCALE, database $PGBENCH_DB)"
psql_on postgres -c "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)"
psql_on postgres -c "CREATE DATABASE $PGBENCH_DB"
pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -i -q -s "$PGBENCH_SCALE" "$PGBENCH_DB" 2>&1 | tail -1
run_pgbench pgbench_S "$PGBENCH_DB" -S
echo "== pgbench -f -M prepared: the statement of a search with a token, for the same $CONNECTIONS persons (one script each, picked at random)"
# Prepared, as the server's are. The scripts carry their values written in, so PostgreSQL plans
# each once per connection, where the server binds parameters and may plan at every bind: a
# ceiling a little above the endpoint's own statements, never below.
scripts=()
for f in "$PGSCRIPTS"/person-*.sql; do scripts+=(-f "$f"); done
run_pgbench pgbench_near "$DB" -M prepared "${scripts[@]}"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", a / b * 100 }'; }
echo
echo "== summary: $INSTITUTIONS institutions, $POINTS points (5 km, first page of 50), $CONNECTIONS connections, ${DURATION} s each (pgbench -f: the SQL of near+token)"
printf '%-24s %12s %12s %12s %14s %14s\n' "" near "near+token" records "pgbench -f" "pgbench -S"
printf '%-24s %12s %12s %12s %14s %14s\n' "requests/s" "${RPS[near]}" "${RPS[near_token]}" "${RPS[records]}" "${RPS[pgbench_near]}" "${RPS[pgbench_S]}"
printf '%-24s %12s %12s %12s %14s %14s\n' "p50 latency (ms)" "${P50[near]}" "${P50[near_token]}" "${P50[records]}" "-" "-"
printf '%-24s %12s %12s %12s %14s %14s\n' "p99 latency (ms)" "${P99[near]}" "${P99[near_token]}" "${P99[records]}" "-" "-"
printf '%-24s %12s %12s %12s %14s %14s\n' "mean latency (ms)" "-" "-" "-" "${P50[pgbench_near]}" "${P50[pgbench_S]}"
printf '%-24s %12s %12s %12s %14s %14s\n' "rate / pgbench -S" "$(ratio "${RPS[near]}" "${RPS[pgbench_S]}")" "$(ratio "${RPS[near_token]}" "${RPS[pgbench_S]}")" "$(ratio "${RPS[records]}" "${RPS[pgbench_S]}")" "$(ratio "${RPS[pgbench_near]}" "${RPS[pgbench_S]}")" "100 %"
printf '%-24s %12s %12s %12s %14s %14s\n' "rate / pgbench -f" "no SQL" "$(ratio "${RPS[near_token]}" "${RPS[pgbench_near]}")" "-" "100 %" "-"
printf '%-24s %12s %12s %12s %14s %14s\n' "server CPU" "${SERVER_CPU[near]}" "${SERVER_CPU[near_token]}" "${SERVER_CPU[records]}" "-" "-"
printf '%-24s %12s %12s %12s %14s %14s\n' "postgres CPU" "${PG_CPU[near]}" "${PG_CPU[near_token]}" "${PG_CPU[records]}" "${PG_CPU[pgbench_near]}" "${PG_CPU[pgbench_S]}"
echo "loader: ${IMPORT_RATE[new]} rows/s new ($LINES lines in ${IMPORT_SECS[new]} s), ${IMPORT_RATE[unchanged]} rows/s unchanged (${IMPORT_SECS[unchanged]} s)"
echo "server peak RSS: $SERVER_RSS"
for n in near near_token; do
    echo "target: $n within the time of a records list: p50 $(awk -v a="${P50[$n]}" -v b="${P50[records]}" 'BEGIN { printf "%.2f×", a / b }') of the list's, rate $(awk -v a="${RPS[$n]}" -v b="${RPS[records]}" 'BEGIN { printf "%.2f×", a / b }') of the list's"
done
echo "(output saved in $RESULT; keys, tokens, points and the server log in $STATE)"
