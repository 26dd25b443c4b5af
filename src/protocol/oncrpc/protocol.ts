import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Dialer, Protocol } from "../protocol.js";
import { type OncClientOptions, OncClientSession } from "./client.js";
import { serveOncTcp } from "./server.js";

/**
 * Recognises ONC RPC over TCP: a record mark whose first byte has the last-fragment bit set (or is
 * 0, a first fragment under 16 MiB), then an xid, then message type CALL or REPLY (a REPLY is
 * taken, and the connection closed, rather than left to another protocol). No other protocol
 * starts with 0x00 or a byte of 0x80 and above.
 */
export function sniffOncRpc(bytes: Uint8Array): "yes" | "no" | "more" {
  const b0 = bytes[0] as number;
  if (!(b0 === 0 || b0 >= 0x80)) return "no";
  if (bytes.length < 12) return "more";
  return bytes[8] === 0 && bytes[9] === 0 && bytes[10] === 0 && (bytes[11] === 0 || bytes[11] === 1) ? "yes" : "no";
}

/** Options of ONC RPC (`builtinProtocols({ oncrpc })`). */
export type OncRpcProtocolOptions = OncClientOptions;

/** ONC RPC version 2 (RFC 5531): serves methods that carry a program, version and procedure number. */
export function oncRpcProtocol(options: OncRpcProtocolOptions = {}): Protocol {
  const overTcp: Dialer = (ctx) => {
    if (!/:[0-9]+$/.test(ctx.rest)) {
      throw new RpcError(Code.InvalidArgument, `${ctx.address}: give the port (oncrpc+tcp://host:port)`);
    }
    const open = ctx.dialStream(`tcp://${ctx.rest}`);
    return ctx.channel((hooks) => open().then((s) => new OncClientSession(s, ctx.limits, options, hooks.onClose)));
  };
  return {
    name: "oncrpc",
    sniff: sniffOncRpc,
    serve: serveOncTcp,
    schemes: { "oncrpc+tcp": overTcp },
  };
}
