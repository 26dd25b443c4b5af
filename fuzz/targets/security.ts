/** Targets for what security added to the wire: the JSON-RPC envelope and HMAC verification. */
import { randomBytes } from "node:crypto";
import { hmacSigner } from "../../src/client/hmac.js";
import { resolveLimits } from "../../src/core/limits.js";
import { createMetadata } from "../../src/core/metadata.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { openEnvelope, sealEnvelope } from "../../src/protocol/jsonrpc/envelope.js";
import { hmacVerifier } from "../../src/server/hmac.js";
import type { FuzzTarget } from "../engine.js";
import { CheckFailed, check, sameBytes, show, utf8 } from "./check.js";

const limits = resolveLimits({});

const envelopeSeeds = (): Uint8Array[] =>
  [
    sealEnvelope({ authorization: "Bearer t" }, '{"jsonrpc":"2.0","id":1,"method":"A.b","params":{"x":1}}'),
    sealEnvelope({}, "[]"),
    sealEnvelope(undefined, ""),
    '{"farcall":{},"message":"x"}',
    '{"farcall":{"metadata":{"a":1}},"message":"x"}',
    '{"farcall":{"metadata":{}},"message":"x","more":1}',
  ].map((s) => utf8.encode(s));

/** The JSON-RPC envelope: bytes open or are refused; what opens seals and opens back to itself. */
export const envelopeTarget: FuzzTarget = {
  name: "jsonrpc-envelope",
  description: "openEnvelope (src/protocol/jsonrpc/envelope.ts); what opens must survive seal → open",
  seeds: envelopeSeeds,
  tokens: ['{"farcall":', '"metadata":', '"message":', '\\"', "\\u0000", "{", "}", ":", ","].map((s) => utf8.encode(s)),
  maxLength: 16 * 1024,
  allocLimit: (n) => 16 * n + 4096,
  run(bytes) {
    const opened = openEnvelope(bytes, limits);
    let again: ReturnType<typeof openEnvelope>;
    try {
      again = openEnvelope(
        utf8.encode(sealEnvelope(opened.metadata, new TextDecoder().decode(opened.message))),
        limits,
      );
    } catch (err) {
      throw new CheckFailed(`opened envelope ${show(opened.metadata)} does not survive seal → open: ${String(err)}`);
    }
    check(sameBytes(again.message, opened.message), "the message changed in seal → open");
    check(JSON.stringify(again.metadata) === JSON.stringify(opened.metadata), "the metadata changed in seal → open");
  },
};

const secret = randomBytes(32);
const signer = hmacSigner({ keyId: "k", secret });

/** Signed calls, made once: the seeds, and what a verified input must match. */
const signedCalls = ["", '{"a":1}', "x".repeat(40)].map((body) => ({
  body,
  metadata: {
    tenant: "blue",
    ...signer.sign({ method: "A/b", timeoutMs: 100, metadata: { tenant: "blue" }, body: [utf8.encode(body)] }),
  } as Record<string, string>,
}));

/**
 * HMAC verification: byte 0 picks how much of the input is the body; the rest is JSON metadata
 * (mutated from signed calls). Only a call the signer really signed may pass; anything else is
 * refused with RpcError. A fresh verifier per input, so nonces do not carry over.
 */
export const hmacTarget: FuzzTarget = {
  name: "hmac-verify",
  description: "hmacVerifier (src/server/hmac.ts) on mutated signed calls; a changed call never verifies",
  seeds: () =>
    signedCalls.map((c) => utf8.encode(`${String.fromCharCode(c.body.length)}${c.body}${JSON.stringify(c.metadata)}`)),
  tokens: ["farcall-hmac-", '"farcall-hmac-sig":', '","', "\\n", ","].map((s) => utf8.encode(s)),
  maxLength: 4096,
  allocLimit: (n) => 16 * n + 65_536,
  run(bytes) {
    const n = bytes[0] ?? 0;
    const body = bytes.subarray(1, 1 + n);
    let md: unknown;
    try {
      md = JSON.parse(new TextDecoder().decode(bytes.subarray(1 + n)));
    } catch {
      return;
    }
    if (typeof md !== "object" || md === null || Array.isArray(md)) return;
    const metadata = createMetadata();
    for (const [k, v] of Object.entries(md)) if (typeof v === "string") metadata[k] = v;
    const verify = hmacVerifier({ keys: new Map([["k", secret]]) });
    let principal: unknown;
    try {
      principal = verify({
        method: { path: "A/b" } as never,
        metadata,
        peer: { transport: "memory", address: "fuzz" },
        timeoutMs: 100,
        body,
      });
    } catch (err) {
      if (err instanceof RpcError) return;
      throw err;
    }
    // It verified: then it is one of the signed calls, with every signed entry and the body unchanged.
    const same = signedCalls.some(
      (c) =>
        new TextDecoder().decode(body) === c.body &&
        Object.keys(metadata).length === Object.keys(c.metadata).length &&
        Object.entries(c.metadata).every(([k, v]) => metadata[k] === v),
    );
    check(same, () => `a changed call verified: ${show(metadata)} body ${show(body)} as ${show(principal)}`);
  },
};
