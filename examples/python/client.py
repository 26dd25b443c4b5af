#!/usr/bin/env python3
"""A farcall client in plain Python 3, written from docs/protocol.md alone (standard library only).

Usage:
    python3 examples/python/client.py [--host 127.0.0.1] [--port 4000]

It opens one connection with the JSON codec (codec 1), makes three unary calls on the demo
service, one after the other, and prints one line per call. The output is stable; against the
demo server (examples/demo/services.ts) it is exactly:

    Arith.add(1, 2) = 3
    Arith.divide(10, 4) = 2.5
    Arith.divide(1, 0) failed: invalid_argument: divide by zero

Line formats:
    <Service>.<method>(<a>, <b>) = <result as compact JSON>
    <Service>.<method>(<a>, <b>) failed: <status code name>: <error message>

Exit status: 0 when every call got a reply (a call that fails with an ERROR frame still counts as
a reply); 1 when the connection cannot be opened or closes early; 2 on a protocol error (a bad
preface, a malformed frame, a GOAWAY that is a connection error). Errors go to stderr.
"""

import argparse
import json
import socket
import struct
import sys

MAGIC = b"\x7fFAR"
VERSION = 1
CODEC_JSON = 1

# Frame types (§3.1).
REQUEST, RESPONSE, ERROR, CANCEL, DATA, END, WINDOW, PING, PONG, GOAWAY, SETTINGS = range(1, 12)

# REQUEST and ERROR flags (§3.2).
FLAG_NAME = 0x01
FLAG_METADATA = 0x04
FLAG_NOT_PROCESSED = 0x20
FLAG_DETAILS = 0x40

HEADER = struct.Struct(">IBBI")  # length, type, flags, id

# Status code names (§6.1).
CODE_NAMES = {
    1: "canceled",
    2: "unknown",
    3: "invalid_argument",
    4: "deadline_exceeded",
    5: "not_found",
    6: "already_exists",
    7: "permission_denied",
    8: "resource_exhausted",
    9: "failed_precondition",
    10: "aborted",
    11: "out_of_range",
    12: "unimplemented",
    13: "internal",
    14: "unavailable",
    15: "data_loss",
    16: "unauthenticated",
}

# Our limits, announced in SETTINGS (§4.8): the defaults of the protocol.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_METADATA_BYTES = 8 * 1024
MAX_INFLIGHT = 20000
STREAM_WINDOW_BYTES = 1024 * 1024
# A frame larger than this is refused before its payload is read (§3).
MAX_FRAME_BYTES = MAX_MESSAGE_BYTES + MAX_METADATA_BYTES + 512


def code_name(code):
    return CODE_NAMES.get(code, "unknown")


class ProtocolError(Exception):
    """The peer broke the protocol, or ended the connection with an error (exit status 2)."""


class ConnectionLost(Exception):
    """The connection closed before the reply arrived (exit status 1)."""


class CallFailed(Exception):
    """The server answered a call with an ERROR frame."""

    def __init__(self, code, message, not_processed):
        super().__init__(f"{code_name(code)}: {message}")
        self.code = code
        self.message = message
        self.not_processed = not_processed


class Reader:
    """Reads exact byte counts from a socket, whatever the recv() boundaries."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                where = "in the middle of a frame" if self.buf else "before the reply"
                raise ConnectionLost(f"connection closed by the server {where}")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def u16(value):
    return struct.pack(">H", value)


def parse_text(payload, at, what):
    """Reads a u16 length and that many UTF-8 bytes; returns (text, next offset)."""
    if at + 2 > len(payload):
        raise ProtocolError(f"{what} length truncated")
    (n,) = struct.unpack_from(">H", payload, at)
    at += 2
    if at + n > len(payload):
        raise ProtocolError(f"{what} truncated")
    try:
        return payload[at : at + n].decode("utf-8"), at + n
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not valid utf-8") from None


def skip_metadata(payload, at):
    """Skips a u16-length-prefixed metadata block (§4.11); returns the next offset."""
    if at + 2 > len(payload):
        raise ProtocolError("metadata length truncated")
    (n,) = struct.unpack_from(">H", payload, at)
    if at + 2 + n > len(payload):
        raise ProtocolError("metadata block truncated")
    return at + 2 + n


def decode_message(body):
    """An empty message means "no value" (§8); otherwise it is UTF-8 JSON."""
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError(f"reply is not valid json: {err}") from None


class Connection:
    def __init__(self, host, port):
        try:
            self.sock = socket.create_connection((host, port), timeout=10)
        except OSError as err:
            raise ConnectionLost(f"cannot connect to {host}:{port}: {err}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)
        self.next_call_id = 1
        self.method_ids = {}  # name -> bound method id (§4.1)
        self.next_method_id = 1
        self.server_preface_seen = False
        self.draining = False
        # Preface (§2), then SETTINGS (§4.8), before any REQUEST.
        preface = MAGIC + bytes([VERSION, CODEC_JSON, 0, 0])
        settings = b"".join(
            struct.pack(">HI", key, value)
            for key, value in (
                (1, MAX_MESSAGE_BYTES),
                (2, MAX_METADATA_BYTES),
                (3, MAX_INFLIGHT),
                (4, STREAM_WINDOW_BYTES),
            )
        )
        self.send(preface + self.frame(SETTINGS, 0, 0, settings))

    @staticmethod
    def frame(ftype, flags, fid, payload=b""):
        return HEADER.pack(len(payload), ftype, flags, fid) + payload

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise ConnectionLost(f"cannot send: {err}") from None

    def read_preface(self):
        preface = self.reader.read(8)
        if preface[:4] != MAGIC:
            raise ProtocolError(f"the server did not send the farcall preface: {preface.hex()}")
        if preface[4] != VERSION:
            raise ProtocolError(f"the server speaks protocol version {preface[4]}, not {VERSION}")
        if preface[5] != CODEC_JSON:
            # Codec 0: the server does not support JSON; a GOAWAY saying why follows.
            reason = ""
            try:
                ftype, _, _, payload = self.read_frame()
                if ftype == GOAWAY:
                    code, text = self.parse_goaway(payload)
                    reason = f": {code_name(code)}: {text}"
            except (ConnectionLost, ProtocolError):
                pass
            raise ProtocolError(f"the server refused the json codec (answered codec {preface[5]}){reason}")
        self.server_preface_seen = True

    def read_frame(self):
        length, ftype, flags, fid = HEADER.unpack(self.reader.read(HEADER.size))
        if length > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame length {length} exceeds {MAX_FRAME_BYTES}")
        return ftype, flags, fid, self.reader.read(length)

    @staticmethod
    def parse_goaway(payload):
        if len(payload) < 1:
            raise ProtocolError("GOAWAY truncated")
        text, _ = parse_text(payload, 1, "GOAWAY message")
        return payload[0], text

    def call(self, name, value):
        """Makes one unary call and returns its decoded reply; raises CallFailed on an ERROR frame."""
        if self.draining:
            raise ConnectionLost("the server is draining this connection; no new calls")
        call_id = self.next_call_id
        self.next_call_id += 1
        flags = 0
        method_id = self.method_ids.get(name)
        if method_id is None:
            # Bind a method id the first time a name is used; id 0 (name every time) once 1024 are taken.
            encoded = name.encode("utf-8")
            method_id = 0
            if self.next_method_id <= 1024:
                method_id = self.next_method_id
                self.next_method_id += 1
                self.method_ids[name] = method_id
            flags |= FLAG_NAME
            head = u16(method_id) + u16(len(encoded)) + encoded
        else:
            head = u16(method_id)
        message = json.dumps(value, separators=(",", ":")).encode("utf-8")
        self.send(self.frame(REQUEST, flags, call_id, head + message))
        return self.await_reply(call_id)

    def await_reply(self, call_id):
        if not self.server_preface_seen:
            self.read_preface()
        while True:
            ftype, flags, fid, payload = self.read_frame()
            if ftype == PING:
                if len(payload) != 8 or fid != 0:
                    raise ProtocolError("PING must carry 8 bytes on id 0")
                self.send(self.frame(PONG, 0, 0, payload))
            elif ftype in (SETTINGS, PONG, WINDOW):
                continue  # a unary client needs none of these values
            elif ftype == GOAWAY:
                code, text = self.parse_goaway(payload)
                if code not in (0, 14):
                    raise ProtocolError(f"server sent goaway: {code_name(code)}: {text}")
                self.draining = True  # calls already sent still get their replies (§9.2)
            elif ftype in (REQUEST, CANCEL) or ftype > SETTINGS or ftype == 0:
                raise ProtocolError(f"unexpected frame type 0x{ftype:02x} from the server")
            elif fid != call_id:
                continue  # a late frame for a call that has ended
            elif ftype == RESPONSE:
                at = skip_metadata(payload, 0) if flags & FLAG_METADATA else 0
                return decode_message(payload[at:])
            elif ftype == ERROR:
                if len(payload) < 1:
                    raise ProtocolError("ERROR truncated")
                text, _ = parse_text(payload, 1, "error message")
                raise CallFailed(payload[0], text, bool(flags & FLAG_NOT_PROCESSED))
            else:
                raise ProtocolError(f"frame type 0x{ftype:02x} on a unary call")

    def close(self):
        # A graceful goodbye (§9.2): GOAWAY code 14, then close our side.
        try:
            text = b"client closing"
            self.send(self.frame(GOAWAY, 0, 0, bytes([14]) + u16(len(text)) + text))
            self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ConnectionLost):
            pass
        self.sock.close()


def main():
    parser = argparse.ArgumentParser(description="Call the farcall demo service over the wire protocol.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4000)
    args = parser.parse_args()

    calls = [
        ("Arith/add", {"a": 1, "b": 2}),
        ("Arith/divide", {"a": 10, "b": 4}),
        ("Arith/divide", {"a": 1, "b": 0}),
    ]
    try:
        conn = Connection(args.host, args.port)
        try:
            for name, value in calls:
                label = f"{name.replace('/', '.')}({value['a']}, {value['b']})"
                try:
                    result = conn.call(name, value)
                    print(f"{label} = {json.dumps(result, separators=(',', ':'))}", flush=True)
                except CallFailed as err:
                    print(f"{label} failed: {err}", flush=True)
        finally:
            conn.close()
    except ProtocolError as err:
        print(f"protocol error: {err}", file=sys.stderr)
        return 2
    except (ConnectionLost, OSError) as err:
        print(f"connection error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
