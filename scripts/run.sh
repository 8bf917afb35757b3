#!/usr/bin/env bash
# Quick start 1: install, build, load the demo organization into var/mamori.db, and serve
# http://127.0.0.1:8080/ (Ctrl-C stops it gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=build/release/src/cli/mamori
mkdir -p var
echo "==> demo organization (examples/demo/organization.csv -> var/mamori.db)"
"$bin" admin import examples/demo/organization.csv --db var/mamori.db --mode upsert
echo "==> starting: open http://127.0.0.1:8080/"
exec "$bin" serve --config mamori.toml
