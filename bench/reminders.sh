#!/usr/bin/env bash
# The SMS reminder campaigns at scale on PostgreSQL (issue 10): the `due` campaign over PERSONS
# persons (default 1,000,000) — the time to enqueue its messages, then messages per second
# delivered to the SMS stand-in (a real HTTP server) by 1 and by 3 `shebao worker` processes;
# and, as ceilings, the same work as bare SQL: the enqueue as one INSERT … SELECT, and one
# message's statements (claim, checks, reservation, record, completion) under pgbench.
#
#   bench/reminders.sh                          # 1,000,000 persons, 60 s of delivery per step
#   PERSONS=100000 DURATION=30 bench/reminders.sh
#   ENQUEUE_ONLY=1 bench/reminders.sh           # seed and enqueue, no delivery
#   REUSE=1 bench/reminders.sh                  # keep the seeded audience, redo the rest
#   REUSE=1 SHEBAO_BIN=/tmp/shebao-old bench/reminders.sh   # another build, not built here
#
# Needs a PostgreSQL server that the user postgres reaches without a password (PG_HOST, PG_PORT,
# default 127.0.0.1:5432), pgbench, curl and jq. Drops and re-creates the database
# shebao_bench_reminders. Honours CARGO_TARGET_DIR. A copy of the output goes to bench/results/
# (not committed); the keys stay in /tmp/shebao-bench-reminders-keys, for REUSE=1.
#
# Daylight: no reminder goes out between 21:00 and 08:00 in the person's region's zone. The
# script keeps the synthetic regions in Asia/Shanghai when it is between 09:00 and 17:00 there,
# and otherwise moves them to a zone where it is (regions carry their zone; the rule itself is
# untouched). Every person has a phone of their own, so the cap of 3 a day never bites.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/machine.sh
source bench/machine.sh
ROOT=$PWD

PERSONS=${PERSONS:-1000000}
SEED=${SEED:-10}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-5}
CONCURRENCY=${CONCURRENCY:-4}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
DB=shebao_bench_reminders
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# SHEBAO_BIN: run that binary instead of building one (to compare two builds on one database).
BIN=${SHEBAO_BIN:-$TARGET_DIR/release/shebao}
SID=ACbenchreminders
TOKEN=bench-reminders-token

psql_on() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@" </dev/null
}
q() { psql_on "$DB" -c "$1"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shebao-bench-reminders.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # Only these: a bare `wait` would wait for the `tee` below, which waits for this shell.
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p bench/results
RESULT="bench/results/reminders-$(date -u +%Y%m%dT%H%M%SZ)-${PERSONS}.txt"
exec > >(tee "$RESULT") 2>&1

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

echo "== bench/reminders.sh: campaign due over $PERSONS persons, ${DURATION} s of delivery per step, PostgreSQL $PG_HOST:$PG_PORT/$DB"
if [[ -z ${SHEBAO_BIN:-} ]]; then
    echo "== building the release binary"
    cargo build --release -p shebao-api
fi
[[ -x $BIN ]] || fail "no binary at $BIN"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "PostgreSQL is not ready at $PG_HOST:$PG_PORT"
echo "== machine"
print_machine
echo "postgresql:  $(psql_on postgres -c 'SHOW server_version') (shared_buffers $(psql_on postgres -c 'SHOW shared_buffers'), synchronous_commit $(psql_on postgres -c 'SHOW synchronous_commit'))"
echo "binary:      $("$BIN" --version)"
echo "load:        $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"

export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$DB"
export SHEBAO_GENERATE_KEYS=true SHEBAO_DATA_DIR="$WORK" SHEBAO_LOG=warn
# The keys stay beside the database (a reused audience's phones were encrypted with them).
KEYS=/tmp/shebao-bench-reminders-keys
export SHEBAO_KEY_DIR=$KEYS
if [[ -n ${REUSE:-} ]]; then
    echo "== REUSE: the seeded audience of $DB stays; the previous run's jobs and sends go"
    "$BIN" migrate >/dev/null
    q "TRUNCATE jobs, job_schedule_slots, sms_sends, sms_daily_counts" >/dev/null
    q "UPDATE regions SET time_zone = 'Asia/Shanghai'" >/dev/null
    psql_on "$DB" -c "VACUUM (ANALYZE)"
else
    echo "== fresh database $DB"
    psql_on postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    psql_on postgres -c "CREATE DATABASE $DB"
    rm -rf "$KEYS"
    "$BIN" migrate >/dev/null
    echo "== seeding the audience (not a figure): $PERSONS flexible-employment persons, bound accounts, this month unpaid"
    "$BIN" bench reminder-audience --persons "$PERSONS" --seed "$SEED"
    psql_on "$DB" -c "VACUUM (ANALYZE)"
fi

# A zone where it is now between 09:00 and 17:00: Shanghai's when it is daylight there.
ZONE=""
for z in Asia/Shanghai Asia/Tokyo Asia/Urumqi Asia/Kolkata Asia/Dubai Europe/Moscow Europe/Berlin \
    Atlantic/Azores America/Sao_Paulo America/New_York America/Chicago America/Denver \
    America/Los_Angeles Pacific/Honolulu Pacific/Auckland; do
    h=$(TZ=$z date +%H)
    if ((10#$h >= 9 && 10#$h < 17)); then
        ZONE=$z
        break
    fi
done
[[ -n $ZONE ]] || fail "no zone in daylight found"
if [[ $ZONE != Asia/Shanghai ]]; then
    echo "== it is night in Shanghai: the synthetic regions move to $ZONE (local time $(TZ=$ZONE date +%H:%M)) for the run"
    q "UPDATE regions SET time_zone = '$ZONE'" >/dev/null
else
    echo "== daylight in Asia/Shanghai (local time $(TZ=$ZONE date +%H:%M)): regions unchanged"
fi
audience=$(q "SELECT count(*) FROM persons p WHERE p.employment_status = 'flexible'
    AND EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)
    AND EXISTS (SELECT 1 FROM contributions c WHERE c.person_id = p.id AND c.status = 'due')")
[[ $audience -eq $PERSONS ]] || fail "the audience is $audience persons, not $PERSONS"

# ---------------------------------------------------------------------------------------------
echo "== enqueue: shebao bench fire-campaign --campaign due (fire the slot, run the campaign job to its end)"
/usr/bin/time -v -o "$WORK/fire-time.txt" "$BIN" bench fire-campaign --campaign due | tee "$WORK/fire.txt"
grep -E "User time|System time|Percent of CPU|Maximum resident" "$WORK/fire-time.txt" | sed 's/^\s*/  shebao: /'
enqueue_s=$(sed -nE 's/.* enqueued in ([0-9.]+) s.*/\1/p' "$WORK/fire.txt")
queued=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder' AND state = 'queued'")
keys=$(q "SELECT count(DISTINCT dedupe_key) FROM jobs WHERE kind = 'sms.reminder'")
late=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder' AND run_at > now() AT TIME ZONE 'UTC'")
[[ $queued -eq $PERSONS ]] || fail "$queued reminders queued, not $PERSONS"
[[ $keys -eq $PERSONS ]] || fail "$keys distinct dedupe keys for $PERSONS reminders"
[[ $late -eq 0 ]] || fail "$late reminders wait for daylight"
echo "queued: $queued sms.reminder jobs, $keys distinct keys, all due now"
jobs_size=$(q "SELECT pg_size_pretty(pg_total_relation_size('jobs'))")
echo "jobs table with its indexes: $jobs_size"

# The enqueue's ceiling: the same rows written by one INSERT … SELECT (the audience's join, a
# payload of the same shape built in SQL, the same dedupe keys) into a copy of `jobs` with the
# same indexes.
q "CREATE TABLE jobs_ceiling (LIKE jobs INCLUDING ALL)" >/dev/null
month=$(TZ=Asia/Shanghai date +%Y-%m)
cat >"$WORK/enqueue-ceiling.sql" <<SQL
\\timing on
INSERT INTO jobs_ceiling (id, kind, payload, state, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at)
SELECT gen_random_uuid()::text, 'sms.reminder',
       json_build_object('campaign', 'due', 'account_id', a.id, 'person_id', p.id, 'time_zone', r.time_zone,
         'text', '【社保】您' || c.period || '的社保费' || ((c.employer_fen + c.employee_fen) / 100.0)::numeric(12, 2)
           || '元待缴，请于' || c.period || '-' || lpad(r.contribution_due_day::text, 2, '0') || '前缴纳。')::text,
       'queued', now() AT TIME ZONE 'UTC', 0, 10, 'sms:due:' || p.id || ':' || c.period, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM persons p
JOIN regions r ON r.code = p.region_code
JOIN accounts a ON a.person_id = p.id
JOIN contributions c ON c.person_id = p.id AND c.period = '$month' AND c.status = 'due'
WHERE p.employment_status = 'flexible'
  AND NOT EXISTS (SELECT 1 FROM notification_preferences n WHERE n.account_id = a.id AND n.due = 0)
ON CONFLICT DO NOTHING;
SQL
echo "== enqueue ceiling: one INSERT … SELECT of the same rows into a copy of jobs"
PGOPTIONS="-c client_min_messages=warning" psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$DB" \
    -v ON_ERROR_STOP=1 -f "$WORK/enqueue-ceiling.sql" | tee "$WORK/ceiling.txt"
ceiling_ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$WORK/ceiling.txt" | tail -1)
ceiling_s=$(awk -v ms="$ceiling_ms" 'BEGIN { printf "%.2f", ms / 1000 }')
ceiling_rows=$(q "SELECT count(*) FROM jobs_ceiling")
[[ $ceiling_rows -eq $PERSONS ]] || fail "the ceiling's INSERT … SELECT wrote $ceiling_rows rows, not $PERSONS"
q "DROP TABLE jobs_ceiling" >/dev/null
q "CHECKPOINT" >/dev/null
echo "enqueue: $enqueue_s s; its ceiling (one INSERT … SELECT): $ceiling_s s"
if [[ -n ${ENQUEUE_ONLY:-} ]]; then
    echo "(ENQUEUE_ONLY: no delivery; output saved in $RESULT)"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
echo "== SMS stand-in"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" bench sms-standin --listen "127.0.0.1:$port" --account-sid "$SID" --auth-token "$TOKEN" &
STANDIN=$!
PIDS+=("$STANDIN")
stats() { curl -sf "http://127.0.0.1:$port/_control/stats"; }
for _ in $(seq 100); do stats >/dev/null && break; sleep 0.1; done
stats >/dev/null || fail "the stand-in does not answer on port $port"
received() { stats | jq -r .messages; }

# CPU ticks (user + system) of the given pids, summed.
ticks() {
    local sum=0 pid
    for pid in "$@"; do
        if [[ -r /proc/$pid/stat ]]; then
            # Fields after the command (which may hold spaces): utime is the 12th, stime the 13th.
            sum=$((sum + $(sed -E 's/^.*\) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
        fi
    done
    echo "$sum"
}
pg_pids() { pgrep -u postgres -d ' ' postgres || true; }
# All CPU of the machine, busy ticks (everything but idle and iowait).
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
HZ=$(getconf CLK_TCK)

declare -A RATE CPU_WORKERS CPU_STANDIN CPU_PG CPU_OTHER
deliver() {
    local n=$1 workers=() i
    echo "== delivery by $n worker(s) (SHEBAO_JOB_CONCURRENCY=$CONCURRENCY each): ${WARMUP} s of warm-up, then ${DURATION} s measured"
    for ((i = 0; i < n; i++)); do
        SHEBAO_SMS_URL="http://127.0.0.1:$port" SHEBAO_SMS_ACCOUNT_SID=$SID SHEBAO_SMS_AUTH_TOKEN=$TOKEN \
            SHEBAO_JOB_CONCURRENCY=$CONCURRENCY SHEBAO_METRICS_LISTEN=off \
            "$BIN" worker 2>>"$WORK/worker.log" &
        workers+=($!)
        PIDS+=($!)
    done
    sleep "$WARMUP"
    local pg0 c0 t0 w0 s0 p0 m0 c1 t1 w1 s1 p1 m1 pg1
    pg0=$(pg_pids)
    c0=$(received)
    t0=$(date +%s.%N)
    w0=$(ticks "${workers[@]}")
    s0=$(ticks "$STANDIN")
    p0=$(ticks $pg0)
    m0=$(machine_busy)
    sleep "$DURATION"
    c1=$(received)
    t1=$(date +%s.%N)
    w1=$(ticks "${workers[@]}")
    s1=$(ticks "$STANDIN")
    pg1=$(pg_pids)
    # Backends that came or went meanwhile are counted from the common set only.
    p1=$(ticks $pg0)
    m1=$(machine_busy)
    kill -TERM "${workers[@]}"
    for pid in "${workers[@]}"; do wait "$pid" || true; done
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    RATE[$n]=$(awk -v c="$((c1 - c0))" -v s="$secs" 'BEGIN { printf "%.0f", c / s }')
    pct() { awk -v t="$1" -v s="$secs" -v hz="$HZ" 'BEGIN { printf "%.0f", 100 * t / hz / s }'; }
    CPU_WORKERS[$n]=$(pct $((w1 - w0)))
    CPU_STANDIN[$n]=$(pct $((s1 - s0)))
    CPU_PG[$n]=$(pct $((p1 - p0)))
    CPU_OTHER[$n]=$(pct $((m1 - m0 - (w1 - w0) - (s1 - s0) - (p1 - p0))))
    echo "received: $((c1 - c0)) messages in $(printf %.1f "$secs") s = ${RATE[$n]} messages/s"
    echo "CPU (100 % = one core): workers ${CPU_WORKERS[$n]} %, stand-in ${CPU_STANDIN[$n]} %, PostgreSQL ${CPU_PG[$n]} %, everything else ${CPU_OTHER[$n]} %"
}
deliver 1
deliver 3

# ---------------------------------------------------------------------------------------------
echo "== correctness"
got=$(stats)
messages=$(jq -r .messages <<<"$got")
repeated=$(jq -r .repeated_keys <<<"$got")
done_jobs=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder' AND state = 'done'")
sent=$(q "SELECT count(*) FROM sms_sends WHERE status = 'sent'")
sending=$(q "SELECT count(*) FROM sms_sends WHERE status <> 'sent'")
other=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder' AND state NOT IN ('done', 'queued')")
errors=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder' AND last_error IS NOT NULL")
total=$(q "SELECT count(*) FROM jobs WHERE kind = 'sms.reminder'")
curl -sf "http://127.0.0.1:$port/messages" >"$WORK/messages.json"
listed=$(jq '.messages | length' "$WORK/messages.json")
phones=$(jq '[.messages[].to] | unique | length' "$WORK/messages.json")
ids=$(jq '[.messages[].sid] | unique | length' "$WORK/messages.json")
echo "stand-in: $messages messages stored ($listed listed, $phones distinct phones, $ids distinct ids), $repeated repeated keys"
echo "database: $done_jobs reminder jobs done, $sent sends recorded sent, $sending not (yet) sent, $other neither done nor queued, $errors with an error, $total in all"
[[ $messages -gt 0 ]] || fail "no message reached the stand-in"
[[ $messages -eq $done_jobs ]] || fail "the stand-in has $messages messages but $done_jobs jobs are done"
[[ $messages -eq $sent ]] || fail "the stand-in has $messages messages but $sent sends are recorded"
[[ $listed -eq $messages && $phones -eq $messages && $ids -eq $messages ]] || fail "duplicates at the stand-in"
[[ $repeated -eq 0 ]] || fail "$repeated messages were sent twice"
[[ $sending -eq 0 && $other -eq 0 && $errors -eq 0 ]] || fail "unfinished or failed reminders"
[[ $total -eq $PERSONS ]] || fail "$total reminder jobs, not $PERSONS"
echo "OK: every message received once, one per done job, none lost"

# ---------------------------------------------------------------------------------------------
# The delivery's ceiling: one message's statements as the worker sends them (the claim of
# queue::claim, the account and preference reads and the reservation of reminders::sms, the
# record and the completion), prepared, with as many connections as jobs run at once, on the
# jobs still queued. Only the HTTP call and the runner are missing.
KINDS="'probe','campaign.due','campaign.arrears','campaign.statement','campaign.resident_window','sms.reminder','sms.event'"
cat >"$WORK/message.sql" <<SQL
\\set n random(1, 1000000000)
BEGIN;
SELECT id FROM jobs WHERE kind = ANY(ARRAY[$KINDS]) AND state = 'running' AND leased_until < now() AT TIME ZONE 'UTC' ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED;
SELECT id AS job FROM jobs WHERE kind = ANY(ARRAY[$KINDS]) AND state = 'queued' AND run_at <= now() AT TIME ZONE 'UTC' ORDER BY state, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED \\gset
UPDATE jobs SET state = 'running', attempts = attempts + 1, leased_until = now() AT TIME ZONE 'UTC' + interval '60 seconds', lease_owner = 'pgbench/' || :client_id || '-' || :n, updated_at = now() AT TIME ZONE 'UTC' WHERE id = ANY(ARRAY[:job]) AND kind = ANY(ARRAY[$KINDS]) AND ((state = 'queued' AND run_at <= now() AT TIME ZONE 'UTC') OR (state = 'running' AND leased_until < now() AT TIME ZONE 'UTC'));
SELECT payload::json->>'account_id' AS account, payload FROM jobs WHERE id = ANY(ARRAY[:job]) AND lease_owner = 'pgbench/' || :client_id || '-' || :n ORDER BY run_at, id \\gset
COMMIT;
SELECT phone_enc, phone_hash FROM accounts WHERE id = :account \\gset
SELECT due, arrears, statement, resident_window FROM notification_preferences WHERE account_id = :account;
BEGIN;
SELECT status FROM sms_sends WHERE job_id = :job;
INSERT INTO sms_daily_counts (phone_hash, local_day, sent) VALUES (:phone_hash, current_date, 0) ON CONFLICT DO NOTHING;
UPDATE sms_daily_counts SET sent = sent + 1 WHERE phone_hash = :phone_hash AND local_day = current_date AND sent < 3;
INSERT INTO sms_sends (job_id, campaign, account_id, status, failures, created_at, updated_at) VALUES (:job, 'due', :account, 'sending', 0, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');
COMMIT;
UPDATE sms_sends SET status = 'sent', updated_at = now() AT TIME ZONE 'UTC' WHERE job_id = :job;
UPDATE jobs SET state = 'done', leased_until = NULL, updated_at = now() AT TIME ZONE 'UTC' WHERE id = :job AND lease_owner = 'pgbench/' || :client_id || '-' || :n AND state = 'running';
SQL
# Delivered jobs leave dead entries at the head of the queue's index until a vacuum; the workers
# started on a clean queue, so the ceiling does too.
q "VACUUM jobs, sms_sends, sms_daily_counts" >/dev/null
declare -A CEILING
for n in 1 3; do
    clients=$((n * CONCURRENCY))
    echo "== delivery ceiling: pgbench -M prepared -c $clients -T 20 (one message's SQL, as $n worker(s) run it)"
    PGOPTIONS="-c client_min_messages=warning" pgbench -n -M prepared -h "$PG_HOST" -p "$PG_PORT" -U postgres \
        -c "$clients" -j 2 -T 20 -f "$WORK/message.sql" "$DB" >"$WORK/pgbench-$n.txt" 2>&1 || {
        cat "$WORK/pgbench-$n.txt"
        fail "pgbench failed"
    }
    grep -E "tps|latency average|number of (transactions|failed)" "$WORK/pgbench-$n.txt"
    CEILING[$n]=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$WORK/pgbench-$n.txt" | head -1 | cut -d. -f1)
done

# ---------------------------------------------------------------------------------------------
kill -TERM "$STANDIN" 2>/dev/null || true
wait "$STANDIN" 2>/dev/null || true
echo "== results ($PERSONS persons, $(date -u +%Y-%m-%d))"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
printf '%-34s %12s %16s %10s\n' "" "measured" "ceiling (SQL)" "ratio"
printf '%-34s %10s s %14s s %10s\n' "enqueue of $PERSONS reminders" "$enqueue_s" "$ceiling_s" "$(ratio "$ceiling_s" "$enqueue_s")"
for n in 1 3; do
    printf '%-34s %8s msg/s %10s msg/s %10s\n' "delivery, $n worker(s) × $CONCURRENCY jobs" "${RATE[$n]}" "${CEILING[$n]}" "$(ratio "${RATE[$n]}" "${CEILING[$n]}")"
done
echo "(enqueue ratio: the single INSERT … SELECT's time over the campaign's; delivery ratio: the workers' rate over pgbench's)"
for n in 1 3; do
    echo "CPU during delivery by $n: workers ${CPU_WORKERS[$n]} %, stand-in ${CPU_STANDIN[$n]} %, PostgreSQL ${CPU_PG[$n]} %, else ${CPU_OTHER[$n]} % (of $(nproc) cores = $(($(nproc) * 100)) %)"
done
echo "targets: enqueue <= 60 s: $(awk -v s="$enqueue_s" 'BEGIN { print (s <= 60) ? "met" : "MISSED" }'); >= 1,000 messages/s with 3 workers: $( ((RATE[3] >= 1000)) && echo met || echo MISSED)"
echo "(output saved in $RESULT)"
