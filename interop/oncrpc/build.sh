#!/usr/bin/env bash
# Builds the C ONC RPC peers: bash build.sh <outdir>
# Needs rpcgen (rpcsvc-proto), libtirpc-dev and a C compiler.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: bash build.sh <outdir>" >&2
	exit 2
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

for tool in rpcgen cc cpp; do
	command -v "$tool" >/dev/null || { echo "build.sh: $tool not found" >&2; exit 1; }
done
[ -f /usr/include/tirpc/rpc/rpc.h ] || { echo "build.sh: libtirpc-dev is not installed" >&2; exit 1; }

cp "$src/time.x" "$src/rich.x" "$out/"

# rpcgen runs "cpp -C", which keeps comments, and its own scanner knows only
# /* */ comments, so the // comments of rich.x would be refused. -Y points
# rpcgen at this wrapper, which runs cpp without -C: every comment is gone
# before rpcgen reads the file.
mkdir -p "$out/cpp-nocomments"
cat >"$out/cpp-nocomments/cpp" <<'EOF'
#!/bin/sh
for a in "$@"; do
	shift
	[ "$a" = "-C" ] || set -- "$@" "$a"
done
exec cpp "$@"
EOF
chmod +x "$out/cpp-nocomments/cpp"

cd "$out"
rm -f time.h time_xdr.c time_clnt.c time_svc.c rich.h rich_xdr.c rich_clnt.c rich_svc.c

# time.x: the classic interface, one argument, no -N.
rpcgen -h -o time.h time.x
rpcgen -c -o time_xdr.c time.x
rpcgen -l -o time_clnt.c time.x
rpcgen -m -o time_svc.c time.x # dispatch function only, no main

# rich.x: -N for the procedures of several arguments (passed by value).
rpcgen -Y "$out/cpp-nocomments" -N -h -o rich.h rich.x
rpcgen -Y "$out/cpp-nocomments" -N -c -o rich_xdr.c rich.x
rpcgen -Y "$out/cpp-nocomments" -N -l -o rich_clnt.c rich.x
rpcgen -Y "$out/cpp-nocomments" -N -m -o rich_svc.c rich.x

# -iquote, not -I: the generated time.h must not hide the system <time.h>.
CFLAGS=(-Wall -O2 -I/usr/include/tirpc -iquote "$out")
LIBS=(-ltirpc -lpthread)
# Generated code: its warnings (unused variables) are not ours to fix.
GENFLAGS=(-Wno-unused-variable -Wno-unused-but-set-variable)

cc "${CFLAGS[@]}" -c -o time_client.o "$src/time_client.c"
cc "${CFLAGS[@]}" -c -o time_server.o "$src/time_server.c"
cc "${CFLAGS[@]}" -c -o rich_client.o "$src/rich_client.c"
cc "${CFLAGS[@]}" -c -o rich_server.o "$src/rich_server.c"
for f in time_xdr time_clnt time_svc rich_xdr rich_clnt rich_svc; do
	cc "${CFLAGS[@]}" "${GENFLAGS[@]}" -c -o "$f.o" "$f.c"
done

cc -o time_client time_client.o time_clnt.o time_xdr.o "${LIBS[@]}"
cc -o time_server time_server.o time_svc.o time_xdr.o "${LIBS[@]}"
cc -o rich_client rich_client.o rich_clnt.o rich_xdr.o "${LIBS[@]}"
cc -o rich_server rich_server.o rich_svc.o rich_xdr.o "${LIBS[@]}"

echo "built in $out: time_client time_server rich_client rich_server"
