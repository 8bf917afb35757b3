#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs each on a copy of its seed
# corpus for SECONDS (default 10). A crash fails the script and leaves crash-* in build/fuzz/.
#   scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target csv_fuzz xlsx_fuzz request_fuzz catalog_fuzz \
  totp_fuzz netsep_topology_fuzz iptables_fuzz ipset_fuzz nftables_fuzz asa_fuzz fortigate_fuzz \
  monitor_zeek_fuzz monitor_zeek_json_fuzz monitor_eve_fuzz monitor_netfilter_fuzz \
  monitor_squid_fuzz monitor_blocklist_fuzz monitor_sigma_fuzz monitor_checkpoint_fuzz \
  monitor_syslog_fuzz markdown_fuzz monitor_report_fuzz
for f in csv xlsx request catalog totp netsep_topology iptables ipset nftables asa fortigate \
  monitor_zeek monitor_zeek_json monitor_eve monitor_netfilter monitor_squid monitor_blocklist \
  monitor_sigma monitor_checkpoint monitor_syslog markdown monitor_report; do
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$f/." "$work/"
  echo "==> fuzz $f (${secs}s)"
  (cd build/fuzz && "./tests/fuzz/${f}_fuzz" -max_total_time="$secs" -rss_limit_mb=2048 \
     -print_final_stats=0 "$work" 2>&1 | grep -E '^(Done|==[0-9]+==ERROR|SUMMARY)' || true)
  rm -rf "$work"
  if find build/fuzz -maxdepth 1 \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \
       -o -name 'leak-*' \) | grep -q .; then
    echo "fuzz $f failed: see build/fuzz/" >&2
    exit 1
  fi
done
