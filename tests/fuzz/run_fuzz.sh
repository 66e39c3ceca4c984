#!/bin/sh
# Usage: run_fuzz.sh FUZZER SEEDS WORK [LIBFUZZER_FLAGS...]
# Copies the seed corpus into WORK (keeping what earlier runs found there) and fuzzes WORK, so
# that libFuzzer never writes into the source tree.
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
mkdir -p "$work"
cp "$seeds"/* "$work"/
exec "$fuzzer" "$@" "$work"
