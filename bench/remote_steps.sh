#!/usr/bin/env bash
# Benchmark: a failover's remote steps on one warm SSH session, the SFTP way against the command
# way in the same run (bench/remote_steps_bench.cc): reading a file, reading a host's three files
# at once, replacing database.yml atomically. Loopback only (the lab's first host).
source "$(dirname "$0")/lib.sh"
build=${BUILD:-$repo/build}
bench_lab 127.0.0 .lab-bench
trap 'lab down >/dev/null 2>&1 || true' EXIT
[[ -x $build/bench/remote_steps_bench ]] || cmake --build "$build" --target remote_steps_bench -j2 >/dev/null
lab up 1 >/dev/null
dir=$REPLPLAN_LAB_DIR/tmp/remote-steps
mkdir -p "$dir"
"$build/bench/remote_steps_bench" "$REPLPLAN_LAB_DIR/lab.toml" "$dir" "${RUNS:-40}"
