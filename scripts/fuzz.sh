#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses of fuzz/ (fuzz/README.md) with clang, in a build
# directory of their own ($REPLPLAN_FUZZ_BUILD, default ./build-fuzz), apart from the GCC build.
#
#   scripts/fuzz.sh build                  configure and build every harness
#   scripts/fuzz.sh smoke [SECONDS]        build, then run each harness SECONDS (default 15) from
#                                          its corpus with a fixed seed (REPLPLAN_FUZZ_SEED, 1);
#                                          fails on the first finding (the CTest test fuzz.smoke)
#   scripts/fuzz.sh run NAME [SECONDS]     fuzz one harness (default 300 s), keeping what it learns
#                                          in $REPLPLAN_FUZZ_BUILD/corpus/NAME (fuzz/README.md says
#                                          how to fold it into fuzz/corpus)
#
# Exits 77 (CTest: skipped) when clang or its libFuzzer runtime is not installed; scripts/
# install-deps.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${REPLPLAN_FUZZ_BUILD:-$root/build-fuzz}
mode=${1:-smoke}

have_libfuzzer() {
  command -v clang++ >/dev/null || return 1
  local probe
  probe=$(mktemp -d)
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cc"
  clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" 2>/dev/null
  local rc=$?
  rm -rf "$probe"
  return $rc
}

build_harnesses() {
  if ! have_libfuzzer; then
    echo "fuzz: SKIPPED: clang++ with libFuzzer (-fsanitize=fuzzer) is not installed;" \
         "install clang and libclang-rt-14-dev (scripts/install-deps.sh does)" >&2
    exit 77
  fi
  local launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  CXX=clang++ CC=clang cmake -S "$root" -B "$build" -DREPLPLAN_FUZZ=ON -DCMAKE_BUILD_TYPE=None "${launcher[@]}" >/dev/null
  cmake --build "$build" -j"$(nproc)"
}

harnesses() {
  for src in "$root"/fuzz/*_fuzz.cc; do basename "$src" .cc | sed 's/_fuzz$//'; done
}

# run NAME SECONDS WORK_CORPUS: libFuzzer adds what it finds to WORK_CORPUS (the first directory)
# and only reads fuzz/corpus/NAME. A finding is saved as $build/findings/NAME-crash-<sha1>.
# -timeout=30: one input taking 30 s is a hang or worse (the parsers answer in milliseconds); 10 s
# was hit once by an input that runs in 1 ms, on a 2-core machine at load 11.
run_one() {
  local name=$1 seconds=$2 work=$3
  shift 3
  local dict=()
  if [[ -f $root/fuzz/dict/$name.dict ]]; then dict=(-dict="$root/fuzz/dict/$name.dict"); fi
  mkdir -p "$work" "$build/findings"
  nice -n 10 "$build/fuzz/${name}_fuzz" "$work" "$root/fuzz/corpus/$name" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$build/findings/$name-" "$@"
}

case $mode in
  build)
    build_harnesses
    ;;
  smoke)
    seconds=${2:-15}
    build_harnesses
    failed=()
    for name in $(harnesses); do
      work=$(mktemp -d)
      log=$build/smoke-$name.log
      # A fixed seed: the suite replays the corpus and the same mutations each time (how far it gets
      # depends on the machine's speed), so a red smoke is a finding to fix, not the luck of a run.
      if run_one "$name" "$seconds" "$work" -seed="${REPLPLAN_FUZZ_SEED:-1}" >"$log" 2>&1; then
        echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s)"
      else
        echo "fuzz: $name FAILED; the finding and how to reproduce it:" >&2
        grep -E 'property failed|ERROR: |SUMMARY: |runtime error|Test unit written|^[^ ]*: .*(failed|changed|differ)' "$log" | head -20 >&2 || true
        echo "  full log: $log; rerun: $build/fuzz/${name}_fuzz <the crash file above>" >&2
        failed+=("$name")
      fi
      rm -rf "$work"
    done
    if ((${#failed[@]} > 0)); then
      echo "fuzz: failed: ${failed[*]}" >&2
      exit 1
    fi
    ;;
  run)
    name=${2:?usage: scripts/fuzz.sh run NAME [SECONDS]}
    build_harnesses
    run_one "$name" "${3:-300}" "$build/corpus/$name"
    ;;
  *)
    echo "usage: scripts/fuzz.sh build | smoke [SECONDS] | run NAME [SECONDS]" >&2
    exit 2
    ;;
esac
