#!/usr/bin/env bash
# Quick start 2: install, build, and run every test (unit, API against a real server,
# end-to-end in Chromium). The closing line is CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/fuzz.sh "${MAMORI_FUZZ_SECONDS:-10}"
cd build/release
ctest --output-on-failure --timeout 600 -j 2 "$@"
