#!/usr/bin/env bash
# Installs what is missing, then runs two sanitizer builds next to the ordinary one:
#   build-asan  gcc, PROCTRACK_SANITIZE=ON: the whole ctest suite (unit and integration tests,
#               the latter against the sanitized binary) under ASan, LeakSanitizer and UBSan;
#   build-fuzz  clang, PROCTRACK_FUZZ=ON: every libFuzzer target for FUZZ_SECONDS (default 15) on
#               a copy of its seed corpus (tests/fuzz/corpus/<target>), two at a time.
# A longer fuzzing session: FUZZ_SECONDS=600 scripts/sanitize.sh
# Inputs that crash land in build-fuzz/tests/fuzz/fuzz-artifacts/; reproduce one with
#   build-fuzz/tests/fuzz/<target> <file>
# Extra arguments go to both ctest runs, e.g. -R pve.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${SANITIZE_PACKAGES[@]}"
FUZZ_SECONDS=${FUZZ_SECONDS:-15}

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCTRACK_WERROR=ON \
    -DPROCTRACK_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ctest --test-dir build-asan --output-on-failure --timeout 600 "$@"

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPROCTRACK_WERROR=ON -DPROCTRACK_FUZZ=ON -DPROCTRACK_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)" "$@"
