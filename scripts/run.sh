#!/usr/bin/env bash
# Quick start 1: install, build, load the demo organization into var/mamori.db, serve
# http://127.0.0.1:8080/, record the proof that the demo's network is separated (mamori
# netcheck --report-to) so that the ネットワーク分離 page shows it, and report the monitor's run
# on the demo's logs (mamori monitor --report-to) so that the 通信監視 page shows its alerts.
# Ctrl-C stops the server gracefully. Safe to run again: the data is upserted and the engines'
# tokens in var/ are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=build/release/src/cli/mamori
# The demo's service account tokens for netcheck and monitor (shown once when created; kept
# mode 600).
token_file=var/netcheck-demo.token
monitor_token_file=var/monitor-demo.token
mkdir -p var
# A new database: what belonged to the old one goes too.
[ -f var/mamori.db ] || rm -f var/.demo-roles-loaded "$token_file" "$monitor_token_file"
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

# Creates a demo service account NAME for PURPOSE and keeps its token in FILE. A name is taken
# once per database (a revoked account keeps it), so a replacement gets the time in it.
new_engine_token() {
  local name=$1 purpose=$2 file=$3 out
  if ! out=$("$bin" admin create-token --db var/mamori.db --name "$name" --purpose "$purpose" 2>/dev/null); then
    name="$1-$(date +%Y%m%d-%H%M%S)"
    out=$("$bin" admin create-token --db var/mamori.db --name "$name" --purpose "$purpose")
  fi
  rm -f "$file"
  (umask 077 && tail -n 1 <<<"$out" >"$file")
  echo "service account $name (source service:$name): token in $file"
}
new_token() {
  new_engine_token netcheck-demo "デモ: 基幹FW(fw-core)の分離検査を証跡として記録(scripts/run.sh)" "$token_file"
}
new_monitor_token() {
  new_engine_token monitor-demo "デモ: 通信ログの監視を証跡として記録(scripts/run.sh)" "$monitor_token_file"
}
[ -s "$token_file" ] || new_token
[ -s "$monitor_token_file" ] || new_monitor_token

# The address the server listens on (mamori.toml [server] listen); the demo serves plain HTTP
# on loopback.
listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' mamori.toml | head -n 1)
listen=${listen:-127.0.0.1:8080}
host=${listen%:*}
port=${listen##*:}
[ "$host" = 0.0.0.0 ] && host=127.0.0.1
url="http://$host:$port"

# Whether the server answers GET /healthz with 200 (bash's /dev/tcp: no curl needed).
healthy() {
  local status
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  status=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" &&
    printf "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$1:$2" >&3 &&
    head -n 1 <&3' _ "$host" "$port" 2>/dev/null) || return 1
  [[ $status == HTTP/1.?" 200"* ]]
}

if healthy; then
  echo "A server already answers on $url: stop it first (or change [server] listen in mamori.toml)." >&2
  exit 1
fi
echo "==> starting the server ($url)"
"$bin" serve --config mamori.toml &
server=$!
# Ctrl-C and TERM stop the server gracefully (it finishes the requests in flight); so does an
# early exit of this script, which then waits for it.
stopping=0
# shellcheck disable=SC2317  # run by the traps
stop_server() {
  stopping=1
  kill -TERM "$server" 2>/dev/null || true
}
trap stop_server INT TERM
trap 'stop_server; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  healthy && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done

# Prints the report and posts it as evidence; netcheck's messages are kept to tell why a post
# failed. Returns netcheck's exit code (0 separated, 1 violations, 2 bad input, 3 not posted).
prove_separation() {
  local rc=0
  "$bin" netcheck examples/demo/network/topology.toml --report-to "$url" \
    --token-file "$token_file" 2>var/netcheck-demo.log || rc=$?
  cat var/netcheck-demo.log >&2
  return "$rc"
}

if [ "$stopping" = 0 ] && healthy; then
  echo "==> network separation of the demo body, recorded as evidence (mamori netcheck examples/demo/network)"
  rc=0
  prove_separation || rc=$?
  if grep -q 'HTTP 401' var/netcheck-demo.log; then
    echo "==> the demo's netcheck token no longer works (revoked or expired): a new one"
    new_token
    rc=0
    prove_separation || rc=$?
  fi
  case "$rc" in
    0) ;;
    1) echo "(netcheck found violations: see above and on the ネットワーク分離 page)" ;;
    *) echo "(netcheck could not record its proof: see above)" ;;
  esac
elif [ "$stopping" = 0 ] && kill -0 "$server" 2>/dev/null; then
  echo "(the server does not answer $url/healthz: the network separation proof was not recorded)"
fi

# Monitors the demo body's logs (examples/demo/monitor/*.log: Zeek conn and dns logs, netfilter
# logs of two firewalls; with the demo blocklist, the shipped Sigma pack and every detector; the
# RFC 3164 lines are of 2024, JST) and reports the run as evidence; the alerts (JSON lines)
# go to var/monitor-demo.alerts, the messages to var/monitor-demo.log. Returns monitor's exit
# code (0 reported, 2 bad input, 3 not reported).
report_monitoring() {
  local rc=0
  "$bin" monitor --topology examples/demo/network/topology.toml \
    --blocklist examples/demo/monitor/blocklist.txt --rules catalog/sigma \
    --syslog-year 2024 --syslog-utc-offset +09:00 \
    --report-to "$url" --token-file "$monitor_token_file" examples/demo/monitor/*.log \
    >var/monitor-demo.alerts 2>var/monitor-demo.log || rc=$?
  return "$rc"
}

if [ "$stopping" = 0 ] && healthy; then
  echo "==> traffic monitoring of the demo body's logs, reported as evidence (mamori monitor examples/demo/monitor)"
  rc=0
  report_monitoring || rc=$?
  if grep -q 'HTTP 401' var/monitor-demo.log; then
    echo "==> the demo's monitor token no longer works (revoked or expired): a new one"
    new_monitor_token
    rc=0
    report_monitoring || rc=$?
  fi
  case "$rc" in
    0) echo "$(wc -l <var/monitor-demo.alerts) alerts (var/monitor-demo.alerts): see the 通信監視 page" ;;
    *) cat var/monitor-demo.log >&2
       echo "(monitor could not report its run: see above)" ;;
  esac
fi

if [ "$stopping" = 0 ] && kill -0 "$server" 2>/dev/null; then
  echo "==> the demo administrator (a new one-time password on every run)"
  # In the demo one person also holds 統括情報セキュリティ責任者 so that every register is open;
  # a real body gives these roles to different people.
  "$bin" admin create-user --db var/mamori.db --login admin --role security_general \
    --name "システム管理者" >/dev/null
  "$bin" admin create-user --db var/mamori.db --login admin --role sysadmin --name "システム管理者"
  echo "==> open $url/ and log in with the login and one-time password above (Ctrl-C stops the server)"
fi

# Wait for the server. A trapped signal interrupts `wait`; wait again until it has stopped.
status=0
wait "$server" || status=$?
while kill -0 "$server" 2>/dev/null; do
  status=0
  wait "$server" || status=$?
done
trap - EXIT
exit "$status"
