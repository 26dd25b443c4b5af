#!/usr/bin/env python3
"""Signs calls to a farcall server with HMAC-SHA256, as docs/security.md section 3 describes,
using only the standard library (hmac, hashlib, secrets, urllib).

Usage: hmac_client.py PORT KEY_ID SECRET_HEX
Calls Arith/add over HTTP JSON and Arith.add over JSON-RPC at http://127.0.0.1:PORT, signed, and
prints one line per result with whether the reply's signature held: "http 5 verified",
"jsonrpc 9 verified", then replays the first request and prints "replay <status>".
"""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request

PREFIX = "farcall-md-"  # metadata travels in HTTP headers with this prefix


def sign(key_id, secret, method, timeout_ms, metadata, body):
    timestamp = str(int(time.time() * 1000))
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
    names = sorted(metadata)
    lines = [
        "farcall-hmac-v1",
        key_id,
        timestamp,
        nonce,
        method,
        "" if timeout_ms is None else str(timeout_ms),
        ",".join(names),
    ]
    lines += [f"{name}:{metadata[name]}" for name in names]
    text = "\n".join(lines).encode() + b"\n" + body
    mac = hmac.new(secret, text, hashlib.sha256).digest()
    return {
        "farcall-hmac-key": key_id,
        "farcall-hmac-ts": timestamp,
        "farcall-hmac-nonce": nonce,
        "farcall-hmac-signed": ",".join(names),
        "farcall-hmac-sig": base64.urlsafe_b64encode(mac).rstrip(b"=").decode(),
    }


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read(), dict(res.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def reply_verified(key_id, secret, signed, reply, headers):
    """Checks the server's signature on a reply: over its metadata, its body and our nonce."""
    metadata = {k.lower()[len(PREFIX):]: v for k, v in headers.items() if k.lower().startswith(PREFIX)}
    sig = metadata.pop("farcall-hmac-reply-sig", None)
    if sig is None:
        return False
    names = sorted(metadata)
    lines = ["farcall-hmac-reply-v1", key_id, signed["farcall-hmac-nonce"], ",".join(names)]
    lines += [f"{name}:{metadata[name]}" for name in names]
    mac = hmac.new(secret, "\n".join(lines).encode() + b"\n" + reply, hashlib.sha256).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(mac).rstrip(b"=").decode(), sig)


def main():
    port, key_id, secret = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    base = f"http://127.0.0.1:{port}"
    metadata = {"tenant": "blue"}
    timeout_ms = 5000

    body = json.dumps({"a": 2, "b": 3}).encode()
    signed = sign(key_id, secret, "Arith/add", timeout_ms, metadata, body)
    headers = {"content-type": "application/json", "farcall-timeout-ms": str(timeout_ms)}
    headers.update({PREFIX + k: v for k, v in {**metadata, **signed}.items()})
    status, reply, reply_headers = post(f"{base}/Arith/add", body, headers)
    verified = "verified" if reply_verified(key_id, secret, signed, reply, reply_headers) else "unverified"
    print("http", json.loads(reply) if status == 200 else status, verified, flush=True)

    rpc = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "Arith.add", "params": {"a": 4, "b": 5}}).encode()
    signed_rpc = sign(key_id, secret, "", None, metadata, rpc)
    rpc_headers = {"content-type": "application/json"}
    rpc_headers.update({PREFIX + k: v for k, v in {**metadata, **signed_rpc}.items()})
    status, reply, reply_headers = post(f"{base}/jsonrpc", rpc, rpc_headers)
    verified = "verified" if reply_verified(key_id, secret, signed_rpc, reply, reply_headers) else "unverified"
    print("jsonrpc", json.loads(reply)["result"] if status == 200 else status, verified, flush=True)

    status, _, _ = post(f"{base}/Arith/add", body, headers)
    print("replay", status, flush=True)


if __name__ == "__main__":
    main()
