#!/usr/bin/env bash
# Installs what is missing, then runs three sanitizer builds next to the ordinary one:
#   build-asan  gcc, PROCTRACK_SANITIZE=ON: the whole ctest suite (unit and integration tests,
#               the latter against the sanitized binary) under ASan, LeakSanitizer and UBSan;
#   build-fuzz  clang, PROCTRACK_FUZZ=ON: every libFuzzer target for FUZZ_SECONDS (default 15) on
#               a copy of its seed corpus (tests/fuzz/corpus/<target>), two at a time;
#   build-tsan  gcc, PROCTRACK_TSAN=ON: the unit tests of the threaded code (TSAN_TESTS below:
#               shared scans and reloads, the HTTP server, the basic-auth cache) under
#               ThreadSanitizer, where a data race or lock-order report fails the test.
# A longer fuzzing session: FUZZ_SECONDS=600 scripts/sanitize.sh
# Inputs that crash land in build-fuzz/tests/fuzz/fuzz-artifacts/; reproduce one with
#   build-fuzz/tests/fuzz/<target> <file>
# Extra arguments go to every ctest run, e.g. -R pve; the TSan run keeps its own -R.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${SANITIZE_PACKAGES[@]}"
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
# The unit tests that start threads. The rest of the suite is single-threaded: ASan covers it.
TSAN_TESTS=(test_exporter test_http test_basicauth test_acct)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCTRACK_WERROR=ON \
    -DPROCTRACK_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ctest --test-dir build-asan --output-on-failure --timeout 600 "$@"

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPROCTRACK_WERROR=ON -DPROCTRACK_FUZZ=ON -DPROCTRACK_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)" "$@"

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCTRACK_WERROR=ON \
    -DPROCTRACK_TSAN=ON >/dev/null
cmake --build build-tsan -j"$(nproc)" --target "${TSAN_TESTS[@]}"
ctest --test-dir build-tsan --output-on-failure "$@" -R "^($(IFS='|'; echo "${TSAN_TESTS[*]}"))\$"
