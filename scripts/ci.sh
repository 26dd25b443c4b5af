#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Debian packages, npm
# packages), then builds, lints, checks imports and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers for the interop tests: Python 3 (stdlib clients), Go 1.19 (net/rpc/jsonrpc client and
# server), chromium (the browser test, driven by playwright-core), curl; rpcgen, libtirpc and a C
# compiler for the ONC RPC peers that interop/oncrpc/build.sh builds; rpcbind.
need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# openssl makes the TLS tests' certificates (scripts/make-certs.sh).
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v rpcgen >/dev/null 2>&1 || need_apt+=(rpcsvc-proto)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
[ -f /usr/include/tirpc/rpc/rpc.h ] || need_apt+=(libtirpc-dev)
# rpcbind and rpcinfo, run by the tests only inside a network namespace (unshare, ip).
command -v rpcbind >/dev/null 2>&1 || need_apt+=(rpcbind)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
# etcd and etcdctl: the etcd tests start single members and a 3-member cluster on loopback (test/etcd.ts).
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# Exactly the locked versions (the lock lists every platform's optional binaries, so `npm ci`
# accepts it here).
npm ci --no-audit --no-fund
npm test
