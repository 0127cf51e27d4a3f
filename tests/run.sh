#!/usr/bin/env bash
# Installs the dependencies, builds Vigil twice (normal, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), and runs every test in
# both builds; then a short libFuzzer run of every fuzz target (clang).
#
#   bash tests/run.sh            # what CI runs (.ci/run)
#   VG_FUZZ_SECONDS=0 bash tests/run.sh   # skip the libFuzzer run
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${VG_FUZZ_SECONDS:-10}

bash packaging/install-deps.sh

# The libFuzzer run first: it is short, and a crash it finds is the most
# useful thing this script can say.
if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== libFuzzer: ${fuzz_seconds}s per target"
    CC=clang cmake -S "$src" -B build-fuzz -DVG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-fuzz -j"$jobs" >/dev/null
    for fz in build-fuzz/tests/fuzz_*; do
        name=$(basename "$fz"); short=${name#fuzz_}
        work=$(mktemp -d)
        if ! "$fz" -max_total_time="$fuzz_seconds" -print_final_stats=0 \
                "$work" "tests/fuzz/corpus/$short" >"$work.log" 2>&1; then
            echo "libFuzzer found a failure in $name:"; tail -40 "$work.log"
            exit 1
        fi
        echo "   $name: $(grep -c . "$work.log" >/dev/null; ls "$work" | wc -l) new inputs, no failure"
        rm -rf "$work" "$work.log"
    done
fi

for variant in sanitize normal; do
    dir=build-$variant
    flags=()
    [ "$variant" = sanitize ] && flags+=(-DVG_SANITIZE=ON)
    echo "== build: $variant"
    # the normal build is the README's (Release, -O3, where gcc finds more);
    # the sanitizer build is -O2 with debug information
    type=Release
    [ "$variant" = sanitize ] && type=RelWithDebInfo
    cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=$type "${flags[@]}" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== tests: $variant"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" --output-on-failure -j"$jobs"
done
