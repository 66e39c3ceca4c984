#!/usr/bin/env bash
# Installs what is missing, builds proctrack with warnings as errors, and runs every test:
# cmocka unit tests, and integration tests against the real binary, promtool and
# process-exporter on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCTRACK_WERROR=ON -DPROCTRACK_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 600 "$@"
