#!/usr/bin/env bash
# netcheck against the kernel's own load of the same rules (issue 7, docs/benchmarks.md).
#
#   bench/netcheck.sh [RULES=100000] [SEED=1]
#
# Generates a rule set of RULES rules over user chains (bench/netcheck_gen.mjs), then, side by
# side: the kernel loading it (iptables-restore, and nft -f of the same rules, each in a fresh
# network namespace) and `mamori netcheck` verifying it (the iptables-save file, and the nftables
# JSON that `nft -j list ruleset` gives for the loaded rules). Wall time and peak memory (maximum
# resident set) of each, from /usr/bin/time. Needs root (network namespaces), iptables, nftables
# and a release build (cmake --build --preset release --target mamori).
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-100000}
seed=${2:-1}
bin=${MAMORI_BIN:-build/release/src/cli/mamori}
dir=$(mktemp -d /tmp/mamori-bench-netcheck.XXXXXX)
ns_ipt=mamori-bench-ipt-$$
ns_nft=mamori-bench-nft-$$
cleanup() {
  ip netns del "$ns_ipt" 2>/dev/null || true
  ip netns del "$ns_nft" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

node bench/netcheck_gen.mjs "$dir" "$rules" "$seed"
ip netns add "$ns_ipt"
ip netns add "$ns_nft"

# Runs "$@" under /usr/bin/time; prints "seconds peak-MiB". netcheck exits 1 on violations.
measure() {
  /usr/bin/time -o "$dir/time" -f '%e %M' "$@" >/dev/null 2>"$dir/stderr" || true
  tail -1 "$dir/time" | awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }'
}
timed() { # label, command...
  local label=$1
  shift
  read -r secs mib < <(measure "$@")
  printf '| %s | %s s | %s MiB |\n' "$label" "$secs" "$mib"
}

echo
echo "rules: $(grep -c '^-A ' "$dir/fw.rules") in $(grep -c '^:' "$dir/fw.rules") chains; seed $seed"
echo
echo '| run | time | peak memory |'
echo '|---|---|---|'
timed 'kernel: iptables-restore (in a namespace)' \
  ip netns exec "$ns_ipt" sh -c 'iptables-restore -w <"$1"' sh "$dir/fw.rules"
timed 'mamori netcheck, iptables-save' "$bin" netcheck "$dir/topology-iptables.toml" --format json
timed 'kernel: nft -f (in a namespace)' ip netns exec "$ns_nft" nft -f "$dir/fw.nft"
ip netns exec "$ns_nft" nft -j list ruleset >"$dir/fw.json"
timed 'mamori netcheck, nftables JSON' "$bin" netcheck "$dir/topology-nft.toml" --format json

# The two readings of the same rules must agree on the zones.
matrix() { "$bin" netcheck "$1" --format json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const r = JSON.parse(s);
    console.log(JSON.stringify(r.matrix), r.violations.length);
  });' || true; }
if [ "$(matrix "$dir/topology-iptables.toml")" != "$(matrix "$dir/topology-nft.toml")" ]; then
  echo "the iptables-save and nftables JSON readings disagree" >&2
  exit 1
fi
echo
echo "both readings give the same zone matrix and number of violations"
