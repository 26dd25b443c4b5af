#!/usr/bin/env python3
"""Speaks Go's net/rpc/jsonrpc dialect (JSON-RPC 1.0) to a farcall server, standard library only.

Usage:
    python3 interop/python/gorpc_client.py --host 127.0.0.1 --port 4000

It opens one TCP connection and sends, one after the other, the two requests a Go program using
`jsonrpc.NewClient` would send for `Arith.Add` and `Arith.Divide` (Go's `seq` ids 0 and 1). The
first is written byte for byte as

    {"id":0,"params":[{"A":10,"B":50}],"method":"Arith.Add"}

with nothing after it: Go's JSON decoder reads a stream of values and needs no delimiter. Each
reply is read as one JSON value (whitespace around it is skipped, no newline is required) and
printed on its own line exactly as received, without the surrounding whitespace. Against the demo
server the lines mean:

    {"id":0,"result":60,"error":null}
    {"id":1,"result":null,"error":"divide by zero"}

Exit status: 0 when both replies arrived; 1 on a connection error, a timeout, or a reply that is
not JSON (the reason goes to stderr).
"""

import argparse
import codecs
import json
import socket
import sys

REQUESTS = [
    b'{"id":0,"params":[{"A":10,"B":50}],"method":"Arith.Add"}',
    b'{"id":1,"params":[{"A":1,"B":0}],"method":"Arith.Divide"}',
]


class JsonValueReader:
    """Cuts whole JSON values off a socket, whatever the recv() boundaries."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = ""
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8")()

    def next_text(self):
        while True:
            text = self.buf.lstrip(" \t\r\n")
            if text:
                try:
                    _, end = self.decoder.raw_decode(text)
                except json.JSONDecodeError:
                    pass  # not complete yet (or broken: then the peer's close ends the wait)
                else:
                    self.buf = text[end:]
                    return text[:end]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed before a whole reply (have {self.buf!r})")
            self.buf += self.utf8.decode(chunk)


def main():
    parser = argparse.ArgumentParser(description="Call Arith over Go's JSON-RPC 1.0 dialect.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        with socket.create_connection((args.host, args.port), timeout=10) as sock:
            reader = JsonValueReader(sock)
            for request in REQUESTS:
                sock.sendall(request)
                print(reader.next_text(), flush=True)
    except (OSError, ConnectionError) as err:
        print(f"gorpc_client: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
