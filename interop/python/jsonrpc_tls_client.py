#!/usr/bin/env python3
"""JSON-RPC 2.0 over a TLS TCP stream to a farcall server, standard library only (socket + ssl).

Usage:
    python3 interop/python/jsonrpc_tls_client.py --host localhost --port 4000 --cafile ca.pem \
        [--certfile client.pem --keyfile client-key.pem] [--servername localhost]

The server's certificate is checked against --cafile and the host name (--servername, default
--host) by ssl.create_default_context; --certfile/--keyfile present a client certificate (mTLS).
ALPN offers "jsonrpc". The framing is the plain TCP one: every request is one compact JSON text
followed by "\n", every reply one JSON text ending in "\n" (answers may come in any order; the
pipelined step matches them by id).

Steps, one JSON output line each (keys sorted, compact), in this order:

1. "tls": {"alpn": <selected ALPN>, "version": <TLS version>}
2. "request": Arith.add {"a": 2, "b": 3}, id 1 -> the reply
3. "positional": Arith.multiply [{"a": 6, "b": 7}], id "m" -> the reply
4. "error": Arith.divide {"a": 1, "b": 0}, id 3 -> the reply
5. "notification": Arith.log "python tls notification" (no id), then the probe
   Arith.multiply 3 * 3, id "after-notification" -> the first reply that arrives
6. "batch": [Arith.add 1 + 2 id "b1", Arith.multiply 4 * 5 id "b2"] -> the reply (an array)
7. "pipelined": 20 requests Arith.add i + 1000 i (ids 100 .. 119) written at once ->
   {"count": <replies>, "correct": <replies whose result is 1001 i>}
8. "big": Arith.add of a 300,000-character string and "y" (a string sum, so the request and the
   reply both span many TLS records) -> {"length": <result length>, "correct": <bool>}
9. "whoami": Tls.whoami, no params, id "who" -> the reply

Exit status: 0 when every step got an answer; 1 on a connection or TLS error, a timeout, a reply
that is not JSON or not ended by "\n" (the reason goes to stderr).
"""

import argparse
import json
import socket
import ssl
import sys

TIMEOUT_S = 10
PIPELINED = 20
BIG = 300_000


def emit(line):
    print(json.dumps(line, sort_keys=True, separators=(",", ":")), flush=True)


def encode(message):
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def request(method, params, id_):
    message = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        message["params"] = params
    return message


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")

    def send(self, *messages):
        self.sock.sendall(b"".join(encode(m) for m in messages))

    def reply(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("connection closed before a reply")
        if not line.endswith(b"\n"):
            raise ConnectionError(f"reply not terminated by a newline: {line[:200]!r}")
        return json.loads(line.decode("utf-8"))

    def call(self, method, params, id_):
        self.send(request(method, params, id_))
        return self.reply()


def tls_context(args):
    context = ssl.create_default_context(cafile=args.cafile)
    if args.certfile:
        context.load_cert_chain(certfile=args.certfile, keyfile=args.keyfile)
    context.set_alpn_protocols(["jsonrpc"])
    return context


def run(args):
    context = tls_context(args)
    raw = socket.create_connection((args.host, args.port), timeout=TIMEOUT_S)
    with context.wrap_socket(raw, server_hostname=args.servername or args.host) as sock:
        emit({"step": "tls", "version": sock.version(), "alpn": sock.selected_alpn_protocol()})
        conn = Connection(sock)

        emit({"step": "request", "reply": conn.call("Arith.add", {"a": 2, "b": 3}, 1)})
        emit({"step": "positional", "reply": conn.call("Arith.multiply", [{"a": 6, "b": 7}], "m")})
        emit({"step": "error", "reply": conn.call("Arith.divide", {"a": 1, "b": 0}, 3)})

        note = {"jsonrpc": "2.0", "method": "Arith.log", "params": ["python tls notification"]}
        conn.send(note, request("Arith.multiply", {"a": 3, "b": 3}, "after-notification"))
        emit({"step": "notification", "reply": conn.reply()})

        conn.send([request("Arith.add", {"a": 1, "b": 2}, "b1"), request("Arith.multiply", {"a": 4, "b": 5}, "b2")])
        emit({"step": "batch", "reply": conn.reply()})

        conn.send(*[request("Arith.add", {"a": i, "b": 1000 * i}, 100 + i) for i in range(PIPELINED)])
        replies = [conn.reply() for _ in range(PIPELINED)]
        correct = sum(1 for r in replies if r.get("result") == 1001 * (r.get("id", 0) - 100))
        emit({"step": "pipelined", "count": len(replies), "correct": correct})

        big = conn.call("Arith.add", {"a": "x" * BIG, "b": "y"}, "big")
        result = big.get("result")
        emit(
            {
                "step": "big",
                "length": len(result) if isinstance(result, str) else None,
                "correct": result == "x" * BIG + "y",
            }
        )

        emit({"step": "whoami", "reply": conn.call("Tls.whoami", None, "who")})


def main():
    parser = argparse.ArgumentParser(description="JSON-RPC 2.0 calls over TLS on a farcall server.")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--servername")
    args = parser.parse_args()
    try:
        run(args)
    except (OSError, ConnectionError, ValueError) as err:
        # ssl.SSLError is an OSError.
        print(f"jsonrpc_tls_client: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
