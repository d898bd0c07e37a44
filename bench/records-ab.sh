#!/usr/bin/env bash
# Two builds of the server, measured in turns on the records bench's database: A, B, A, B, …
# under the same wrk load, so that a difference between them is not the machine drifting between
# two runs minutes apart (on this shared 2-core machine the same build's rate moves by 10–15 %
# from one run to the next). Needs a database and tokens left by `bench/records.sh` (run it
# first; this script reads its state directory).
#
#   bench/records-ab.sh BIN_A BIN_B                    # 3 rounds of 20 s, list and summary
#   ROUNDS=5 DURATION=30 PATHS="/v1/me/contributions" bench/records-ab.sh old/shebao new/shebao
#
# Prints each turn's requests/s, p50 and p99, and the server's and PostgreSQL's CPU, then the
# median of each build and B / A. Listens on 127.0.0.1:18081.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh

A=${1:?usage: bench/records-ab.sh BIN_A BIN_B}
B=${2:?usage: bench/records-ab.sh BIN_A BIN_B}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-$(nproc)}
POOL=${POOL:-8}
WORKERS=${WORKERS:-$(nproc)}
PORT=${PORT:-18081}
PATHS=${PATHS:-/v1/me/contributions /v1/me/contributions/summary}
QUIET_WAIT=${QUIET_WAIT:-120}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
STATE=${STATE:-${TMPDIR:-/tmp}/shebao-bench-records}
TOKENS=$STATE/tokens.txt
BASE=http://127.0.0.1:$PORT

die() {
    echo "bench/records-ab.sh: $*" >&2
    exit 1
}
for bin in "$A" "$B"; do [[ -x $bin ]] || die "$bin is not an executable"; done
[[ -s $TOKENS && -d $STATE/keys ]] || die "no tokens or keys in $STATE: run bench/records.sh first"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/shebao_bench_records"
export SHEBAO_KEY_DIR="$STATE/keys" SHEBAO_DATA_DIR="$STATE" SHEBAO_LOG=warn
export SHEBAO_LISTEN="127.0.0.1:$PORT" SHEBAO_DB_POOL_SIZE="$POOL" SHEBAO_WORKERS="$WORKERS"
export SHEBAO_SMS_STANDIN=true SHEBAO_SMS_STANDIN_LISTEN=127.0.0.1:0 SHEBAO_PAY_STANDIN=true
export SHEBAO_PAY_STANDIN_LISTEN=127.0.0.1:0 SHEBAO_METRICS_LISTEN=127.0.0.1:0 SHEBAO_DEMO_SEED=false

SERVER_PID=
stop() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop EXIT

declare -A RESULTS
echo "== A: $A"
echo "== B: $B"
echo "== $ROUNDS rounds, $DURATION s each, $CONNECTIONS connections, pool $POOL, workers $WORKERS; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
    for which in A B; do
        bin=${!which}
        "$bin" serve >"$STATE/ab-server.log" 2>&1 &
        SERVER_PID=$!
        for i in $(seq 120); do
            curl -sf -o /dev/null "$BASE/readyz" && break
            kill -0 "$SERVER_PID" 2>/dev/null || die "$bin exited (see $STATE/ab-server.log)"
            [[ $i == 120 ]] && die "$bin is not ready after 60 s"
            sleep 0.5
        done
        for path in $PATHS; do
            wait_quiet
            wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s bench/records.lua "$BASE" -- "$TOKENS" "$path" "$THREADS" >/dev/null
            a=$(snapshot)
            out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency -s bench/records.lua "$BASE" -- "$TOKENS" "$path" "$THREADS")
            b=$(snapshot)
            result=$(grep '^RESULT' <<<"$out")
            field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $result"; }
            bad=$(($(field non2xx) + $(field connect_errors) + $(field read_errors) + $(field timeouts)))
            [[ $bad -eq 0 ]] || die "$which $path: $bad requests failed"
            RESULTS[$which$path]+="$(field rps) "
            printf 'round %s %s %-32s %8s req/s  p50 %6s ms  p99 %6s ms  server %s %%  postgres %s %%\n' \
                "$round" "$which" "$path" "$(field rps)" "$(field p50_ms)" "$(field p99_ms)" \
                "$(percent "$a" "$b" 3)" "$(percent "$a" "$b" 4)"
        done
        stop
    done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "== medians"
for path in $PATHS; do
    ma=$(median <<<"${RESULTS[A$path]}")
    mb=$(median <<<"${RESULTS[B$path]}")
    printf '%-32s A %8.1f  B %8.1f  B / A %.2f×\n' "$path" "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { print b / a }')"
done
