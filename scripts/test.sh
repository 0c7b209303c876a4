#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs every test with
# CTest, printing the output of any failing test in full.
#
#   scripts/test.sh            # preset "dev" (RelWithDebInfo), all tests
#   PRESET=asan scripts/test.sh   # sanitizer build; runs the tests its preset selects
#   scripts/test.sh -R config  # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

preset=${PRESET:-dev}
jobs=${JOBS:-$(nproc)}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" --output-on-failure --no-tests=error "$@"
