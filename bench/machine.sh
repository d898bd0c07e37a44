# Sourced by the bench scripts: the machine a run was measured on, in the same lines for each.
print_machine() {
    echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cores:       $(nproc)"
    echo "cpu:         $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:      $(free -h | awk '/^Mem:/{print $2 " total, " $7 " available"}')"
    echo "load:        $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
}
