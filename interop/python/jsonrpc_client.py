#!/usr/bin/env python3
"""A JSON-RPC 2.0 client for the farcall demo server, standard library only.

Usage:
    python3 interop/python/jsonrpc_client.py --port 4000 --transport tcp
    python3 interop/python/jsonrpc_client.py --port 4000 --transport http

It makes three exchanges, in this order, and prints one JSON line per exchange:

1. "request": Arith.add with params by name {"a": 2, "b": 3}, id 1.
2. "notification": Arith.log (a notification, no id) with the text
   "python <transport> notification". Over TCP nothing may come back for it, so the program then
   sends a probe request (Arith.multiply 3 * 3, id "after-notification") and prints the first
   reply that arrives: it must be the probe's. Over HTTP the status and body are printed (the
   server answers 204 with no body).
3. "batch": one array holding a request by name, a notification (Arith.log
   "python <transport> batch note"), a request with params by position, an unknown method, a call
   that fails (divide by zero) and an object that is not a request.

Over TCP every request is one compact JSON text followed by "\n" on one connection, and every
reply must be one JSON text ending in "\n". Over HTTP every exchange is its own POST to
http://host:port/ with Content-Type: application/json.

Output lines (keys sorted, compact):
    {"reply":<reply as JSON>,"step":"request","transport":"tcp"}
    {"contentType":"application/json","reply":<reply>,"status":200,"step":"request","transport":"http"}
    {"body":"","contentType":null,"status":204,"step":"notification","transport":"http"}

Exit status: 0 when every exchange got its answer; 1 on a connection error, a timeout, a reply
that is not JSON or, over TCP, a reply not ended by "\n" (the reason goes to stderr).
"""

import argparse
import json
import socket
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 10


def exchanges(transport):
    note = f"python {transport} notification"
    batch_note = f"python {transport} batch note"
    return [
        ("request", {"jsonrpc": "2.0", "method": "Arith.add", "params": {"a": 2, "b": 3}, "id": 1}),
        ("notification", {"jsonrpc": "2.0", "method": "Arith.log", "params": [note]}),
        (
            "batch",
            [
                {"jsonrpc": "2.0", "method": "Arith.multiply", "params": {"a": 6, "b": 7}, "id": "m"},
                {"jsonrpc": "2.0", "method": "Arith.log", "params": [batch_note]},
                {"jsonrpc": "2.0", "method": "Arith.add", "params": [{"a": 4, "b": 5}], "id": 2},
                {"jsonrpc": "2.0", "method": "Arith.nosuch", "params": {}, "id": 3},
                {"jsonrpc": "2.0", "method": "Arith.divide", "params": {"a": 1, "b": 0}, "id": 4},
                {"hello": "python"},
            ],
        ),
    ]


PROBE = {"jsonrpc": "2.0", "method": "Arith.multiply", "params": {"a": 3, "b": 3}, "id": "after-notification"}


def emit(line):
    print(json.dumps(line, sort_keys=True, separators=(",", ":")), flush=True)


def encode(message):
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


class LineReader:
    def __init__(self, sock):
        self.file = sock.makefile("rb")

    def reply(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("connection closed before a reply")
        if not line.endswith(b"\n"):
            raise ConnectionError(f"reply not terminated by a newline: {line!r}")
        return json.loads(line.decode("utf-8"))


def run_tcp(host, port):
    with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
        reader = LineReader(sock)
        for step, message in exchanges("tcp"):
            sock.sendall(encode(message) + b"\n")
            if step == "notification":
                sock.sendall(encode(PROBE) + b"\n")
            emit({"transport": "tcp", "step": step, "reply": reader.reply()})


def post(url, body):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as err:
        # Print what came back; the test decides whether it is right.
        return err.code, err.headers.get("Content-Type"), err.read()


def run_http(host, port):
    url = f"http://{host}:{port}/"
    for step, message in exchanges("http"):
        status, content_type, body = post(url, encode(message))
        line = {"transport": "http", "step": step, "status": status, "contentType": content_type}
        if body:
            line["reply"] = json.loads(body.decode("utf-8"))
        else:
            line["body"] = ""
        emit(line)


def main():
    parser = argparse.ArgumentParser(description="JSON-RPC 2.0 calls on the farcall demo server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=("tcp", "http"), required=True)
    args = parser.parse_args()
    try:
        if args.transport == "tcp":
            run_tcp(args.host, args.port)
        else:
            run_http(args.host, args.port)
    except (OSError, ConnectionError, ValueError) as err:
        print(f"jsonrpc_client: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
