#!/usr/bin/env bash
# Installs what Mamori needs on Debian 12 (as root), then builds it.
#   scripts/setup.sh          build dependencies, the UI and the release build
#   scripts/setup.sh --test   also what the tests need (Chromium, poppler-utils, test npm packages,
#                             ip, iptables, ipset and nftables for the kernel test of netcheck)
#   scripts/setup.sh --bench  also what the benchmarks need (nginx, wrk)
# Idempotent: packages already installed are not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake ninja-build ccache pkg-config git openssl libssl-dev libqrencode-dev
  libboost1.81-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libspdlog-dev libfmt-dev libxlsxwriter-dev libzip-dev libpugixml-dev libsodium-dev
  libgtest-dev libgmock-dev libbdd-dev libsimdjson-dev libcmark-dev libyaml-cpp-dev libre2-dev
  libpsl-dev publicsuffix libcairo2-dev libpango1.0-dev libfontconfig-dev fonts-noto-cjk)
if [ "$want_test" = 1 ]; then
  packages+=(chromium poppler-utils clang libclang-rt-14-dev iproute2 iptables ipset nftables)
fi
if [ "$want_bench" = 1 ]; then
  packages+=(nginx-light wrk libbenchmark-dev)
fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "==> building the UI (web/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)

if [ "$want_test" = 1 ]; then
  echo "==> test packages (tests/)"
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> building mamori (release)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
