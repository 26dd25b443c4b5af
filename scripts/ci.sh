#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Debian packages, npm
# packages), then builds, lints, checks imports and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# `npm install` rather than `npm ci`: the registry here lacks some platforms' optional binaries
# (biome, msgpackr-extract), which `npm ci` counts as a lock mismatch; install keeps the lock as is.
npm install --no-audit --no-fund
npm test
