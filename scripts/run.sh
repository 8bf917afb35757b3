#!/usr/bin/env bash
# Quick start 1: install, build, load the demo organization into var/mamori.db, and serve
# http://127.0.0.1:8080/ (Ctrl-C stops it gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=build/release/src/cli/mamori
mkdir -p var
[ -f var/mamori.db ] || rm -f var/.demo-roles-loaded
echo "==> demo organization (examples/demo/ -> var/mamori.db)"
"$bin" admin import examples/demo/organization.csv --db var/mamori.db --mode upsert
"$bin" admin import examples/demo/users.csv --db var/mamori.db --register users --mode upsert
# Role assignments have no natural key: load them once, into a new database only.
if [ ! -f var/.demo-roles-loaded ]; then
  "$bin" admin import examples/demo/role_assignments.csv --db var/mamori.db --register role_assignments
  touch var/.demo-roles-loaded
fi
"$bin" assets import examples/demo/assets.csv --db var/mamori.db --update
"$bin" admin import examples/demo/risks.csv --db var/mamori.db --register risks --mode upsert
echo "==> network separation of the demo body (mamori netcheck examples/demo/network)"
"$bin" netcheck examples/demo/network/topology.toml || echo "(netcheck found violations: see above)"
echo "==> the demo administrator (a new one-time password on every run)"
# In the demo one person also holds 統括情報セキュリティ責任者 so that every register is open;
# a real body gives these roles to different people.
"$bin" admin create-user --db var/mamori.db --login admin --role security_general \
  --name "システム管理者" >/dev/null
"$bin" admin create-user --db var/mamori.db --login admin --role sysadmin --name "システム管理者"
echo "==> starting: open http://127.0.0.1:8080/ and log in with the login and one-time password above"
exec "$bin" serve --config mamori.toml
