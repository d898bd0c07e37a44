# Sourced by the bench scripts: the machine a run was measured on, in the same lines for each,
# and the CPU accounting they measure with.
print_machine() {
    echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cores:       $(nproc)"
    echo "cpu:         $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:      $(free -h | awk '/^Mem:/{print $2 " total, " $7 " available"}')"
    echo "load:        $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
}

# CPU accounting from /proc, in seconds of one core. `snapshot` prints: wall clock, busy time of
# the whole machine, the server process ($SERVER_PID, when the calling script has one running),
# and all PostgreSQL processes (live ones plus the backends that have exited, which the
# postmaster's child times hold).
cpu_ticks=$(getconf CLK_TCK)
snapshot() {
    local wall machine server=0 pg
    wall=$(date +%s.%N)
    machine=$(awk -v t="$cpu_ticks" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / t }' /proc/stat)
    if [[ -n ${SERVER_PID:-} && -r /proc/$SERVER_PID/stat ]]; then
        server=$(awk -v t="$cpu_ticks" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$SERVER_PID/stat")
    fi
    # cat, not awk, opens the files: a backend that exits meanwhile must not end the sum.
    pg=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v t="$cpu_ticks" '$2 == "(postgres)" { s += $14 + $15 + $16 + $17 } END { printf "%.2f", s / t }')
    echo "$wall $machine $server ${pg:-0}"
}
# Percent of one core between two snapshots, for field 2 (machine), 3 (server) or 4 (postgres).
percent() {
    awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", (y[f] - x[f]) / (y[1] - x[1]) * 100 }'
}
# Waits (up to QUIET_WAIT seconds, which each script defaults) until the machine is less than
# 20 % of a core busy, so that a compilation running beside does not end up in the figures;
# measures anyway after, and says so.
wait_quiet() {
    local waited=0 a b busy
    while :; do
        a=$(snapshot)
        sleep 2
        b=$(snapshot)
        busy=$(percent "$a" "$b" 2)
        if ((busy < 20)); then
            return
        fi
        if ((waited == 0)); then
            echo "(the machine is busy with other work: $busy % of a core; waiting up to $QUIET_WAIT s)"
        fi
        waited=$((waited + 2))
        if ((waited >= QUIET_WAIT)); then
            echo "WARNING: still $busy % busy with other work after $QUIET_WAIT s; measuring anyway (load: $(cut -d' ' -f1-3 /proc/loadavg))"
            return
        fi
    done
}
