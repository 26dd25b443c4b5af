import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { DialContext, Dialer, Protocol } from "../protocol.js";
import { datagramCarrier, type OncClientOptions, OncClientSession, recordCarrier } from "./client.js";
import { serveOncTcp } from "./server.js";
import { serveOncUdp } from "./udp-server.js";

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
  const hostPort = (ctx: DialContext) => {
    const m = /^(\[[^\]]+\]|[^:/]+):([0-9]{1,5})$/.exec(ctx.rest);
    if (m === null) throw new RpcError(Code.InvalidArgument, `${ctx.address}: expected ${ctx.scheme}://host:port`);
    return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  };
  const overTcp: Dialer = (ctx) => {
    hostPort(ctx);
    const open = ctx.dialStream(`tcp://${ctx.rest}`);
    return ctx.channel((hooks) =>
      open().then((s) => new OncClientSession((self) => recordCarrier(s, ctx.limits, self), options, hooks.onClose)),
    );
  };
  const overUdp: Dialer = (ctx) => {
    const { host, port } = hostPort(ctx);
    const open = ctx.dialDatagram(host, port);
    return ctx.channel((hooks) =>
      open().then((pipe) => new OncClientSession((self) => datagramCarrier(pipe, self), options, hooks.onClose)),
    );
  };
  return {
    name: "oncrpc",
    sniff: sniffOncRpc,
    serve: serveOncTcp,
    serveDatagrams: serveOncUdp,
    schemes: { "oncrpc+tcp": overTcp, "oncrpc+udp": overUdp },
  };
}
