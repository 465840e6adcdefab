#!/usr/bin/env bash
# Builds the fuzz executable (libFuzzer + AddressSanitizer) and runs each target for a bounded time.
#
#   fuzz/run.sh [target…]        every target (FUZZ_TARGET=list) unless some are named
#
# FUZZ_SECONDS (60) per target; FUZZ_TIMEOUT (10) seconds for one input before it counts as a
# hang; FUZZ_RSS_MB (2048); FUZZ_NO_BUILD=1 skips the build; FUZZ_ARGS adds libFuzzer flags.
# FUZZ_CONFIGURATION=release builds optimised (about 5 min instead of 2.5 on 2 cores, then 2–8×
# the executions per second: for long runs); debug, the default, suits short ones.
# Inputs that add coverage collect in fuzz/.work/corpus/<target> (kept between runs; the seeds in
# fuzz/corpus/<target> are only read); crashes, hangs and OOMs in fuzz/.work/artifacts/, logs in
# fuzz/.work/logs/. Exits 1 when any target found something, naming the reproducer.
set -uo pipefail
cd "$(dirname "$0")"
FUZZ=$PWD
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
SCRATCH=$FUZZ/.build
CONFIGURATION=${FUZZ_CONFIGURATION:-debug}
BIN=$SCRATCH/$CONFIGURATION/parkbench-fuzz
WORK=$FUZZ/.work

if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
    # The main build's pins, when it has resolved, so both build the same dependency versions.
    [[ -f ../Package.resolved ]] && cp ../Package.resolved Package.resolved
    start=$(date +%s)
    # -enable-testing: the targets use `@testable import` (a debug build has it anyway).
    nice -n 10 swift build -c "$CONFIGURATION" --package-path "$FUZZ" --scratch-path "$SCRATCH" --product parkbench-fuzz \
        --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing 2>&1 | grep -v "Cannot export local symbol" || exit 2
    [[ -x $BIN ]] || exit 2
    echo "fuzz build ($CONFIGURATION): $(($(date +%s) - start)) s"
fi

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || mapfile -t targets < <(FUZZ_TARGET=list "$BIN")
mkdir -p "$WORK/logs" "$WORK/artifacts"

# Swift's own backtracer would race libFuzzer's crash handler; libFuzzer prints the stack.
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}
# A fuzzed park may ask for millions of devices; that cap is the loader's, the budget here is time.
export PARKBENCH_MAX_PARK_DEVICES=${PARKBENCH_MAX_PARK_DEVICES:-20000}

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus=$WORK/corpus/$target
    mkdir -p "$corpus"
    dict=$FUZZ/dict/$target.dict
    [[ $target == yaml-* ]] && dict=$FUZZ/dict/yaml.dict
    log=$WORK/logs/$target.log
    echo "== $target: ${SECONDS_PER_TARGET} s"
    FUZZ_TARGET=$target nice -n 10 "$BIN" -max_total_time="$SECONDS_PER_TARGET" -timeout="${FUZZ_TIMEOUT:-10}" \
        -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$target-" \
        $([[ -f $dict ]] && echo "-dict=$dict") ${FUZZ_ARGS:-} "$corpus" $([[ -d $FUZZ/corpus/$target ]] && echo "$FUZZ/corpus/$target") >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
    line=$(printf '%-17s %12s runs %8s exec/s  cov %6s  ft %7s  corpus %-12s rss %5s MB' \
        "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}")
    if [[ $status -ne 0 ]]; then
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        grep -E -A40 'ERROR: |Fatal error|==[0-9]+==|deadly signal|ALARM|out-of-memory' "$log" | head -60
        echo "!! $target: exit $status; log $log"
        [[ -n $artifact ]] && echo "!! reproduce: FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no $BIN $artifact"
        failed+=("$target")
        line+="  FAILED ${artifact:-(no artifact)}"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "== fuzz summary (${SECONDS_PER_TARGET} s per target; goal: no crash in 10^7 executions per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== found something in: ${failed[*]}"
    exit 1
fi
