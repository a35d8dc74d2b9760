#!/usr/bin/env bash
# Runs the README's test command several times in a row while busy loops keep every core
# saturated, to prove the suite passes on a loaded machine (issue 8).
#
# usage: scripts/test-under-load.sh [runs]        (default 3 runs)
#   BUSY=n    number of busy-loop processes (default 2, one per core of a 2-core machine)
#   LOG_DIR   where each run's full output goes (default: a new directory under $TMPDIR)
#
# Prints each run's exit code and duration, then a summary; exits 1 if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
busy=${BUSY:-2}
log_dir=${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/relais-test-under-load.XXXXXX")}
mkdir -p "$log_dir"
export TURBO_TELEMETRY_DISABLED=1

busy_pids=()
test_pid=
stop_all() {
  # The test command runs in its own process group (setsid): stop all of it, then the loops.
  if [ -n "$test_pid" ]; then kill -- "-$test_pid" 2>/dev/null; fi
  test_pid=
  for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null; done
  busy_pids=()
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

for _ in $(seq "$busy"); do
  sh -c 'while :; do :; done' &
  busy_pids+=("$!")
done
echo "load: $busy busy loops (pids ${busy_pids[*]}) on $(nproc) cores; logs in $log_dir"

results=()
failed=0
for run in $(seq "$runs"); do
  log="$log_dir/run-$run.log"
  echo "run $run/$runs: npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 test"
  started=$(date +%s)
  setsid bash -c 'npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 test' > "$log" 2>&1 &
  test_pid=$!
  wait "$test_pid"
  code=$?
  test_pid=
  seconds=$(($(date +%s) - started))
  line=$(printf "run %d/%d: exit %d in %dm%02ds (load average %s)" "$run" "$runs" "$code" $((seconds / 60)) $((seconds % 60)) \
    "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")")
  echo "$line"
  results+=("$line")
  if [ "$code" -ne 0 ]; then
    failed=$((failed + 1))
    # What failed, without the whole log: vitest's failed tests and turbo's failed tasks.
    grep -E " × | FAIL |ERR_PNPM|Failed:|error TS" "$log" | sort -u | head -40 | sed 's/^/    /'
    echo "    full output: $log"
  fi
done

stop_all
echo
echo "summary ($busy busy loops, $(nproc) cores):"
printf '  %s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
  echo "$failed of $runs runs failed"
  exit 1
fi
echo "all $runs runs passed"
