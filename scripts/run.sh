#!/usr/bin/env bash
# Installs what is missing, builds proctrack, and runs it. With no arguments it serves the
# embedded default config on :9256; arguments are passed to proctrack.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_packages "${BUILD_PACKAGES[@]}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCTRACK_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target proctrack
exec build/proctrack "$@"
