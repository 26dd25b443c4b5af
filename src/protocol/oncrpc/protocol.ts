import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { refuseSigner } from "../hmac.js";
import type { CallTransport, DialContext, Dialer, Protocol } from "../protocol.js";
import { programTable } from "./call.js";
import { datagramCarrier, type OncClientOptions, OncClientSession, oncIdentity, recordCarrier } from "./client.js";
import { lookupPort, portmapPort, registerWithRpcbind } from "./rpcbind.js";
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
export interface OncRpcProtocolOptions extends OncClientOptions {
  /**
   * Register every program version served with the host's rpcbind when a listener is bound (and
   * on UDP too when it listens there), and take them back once the server has drained. Default false.
   */
  readonly register?: boolean | undefined;
  /** The port mapper's port, for registering and for addresses without a port. Default 111. */
  readonly portmapperPort?: number | undefined;
}

/** ONC RPC version 2 (RFC 5531): serves methods that carry a program, version and procedure number. */
export function oncRpcProtocol(options: OncRpcProtocolOptions = {}): Protocol {
  const portmapper = options.portmapperPort ?? portmapPort;
  /** host and port of the address; port undefined when it has none (the port mapper is asked). */
  const hostPort = (ctx: DialContext) => {
    const m = /^(\[[^\]]+\]|[^:/[\]]+)(?::([0-9]{1,5}))?$/.exec(ctx.rest);
    if (m === null)
      throw new RpcError(
        Code.InvalidArgument,
        `${ctx.address}: expected ${ctx.scheme}://host:port or ${ctx.scheme}://host`,
      );
    return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port: m[2] === undefined ? undefined : Number(m[2]) };
  };
  const session = (ctx: DialContext, proto: "tcp" | "udp", host: string, port: number): CallTransport => {
    if (proto === "tcp") {
      const open = ctx.dialStream(`tcp://${host.includes(":") ? `[${host}]` : host}:${port}`);
      return ctx.channel((hooks) =>
        open().then((s) => new OncClientSession((self) => recordCarrier(s, ctx.limits, self), options, hooks.onClose)),
      );
    }
    const open = ctx.dialDatagram(host, port);
    return ctx.channel((hooks) =>
      open().then((pipe) => new OncClientSession((self) => datagramCarrier(pipe, self), options, hooks.onClose)),
    );
  };
  const dialer =
    (proto: "tcp" | "udp"): Dialer =>
    (ctx) => {
      refuseSigner(ctx.signer, ctx.address);
      const { host, port } = hostPort(ctx);
      if (port !== undefined) return session(ctx, proto, host, port);
      const mapper = ctx.dialStream(`tcp://${host.includes(":") ? `[${host}]` : host}:${portmapper}`);
      return viaPortmapper(
        (prog, vers) => lookupPort(mapper, prog, vers, proto),
        (p) => session(ctx, proto, host, p),
      );
    };
  return {
    name: "oncrpc",
    sniff: sniffOncRpc,
    serve: serveOncTcp,
    serveDatagrams: serveOncUdp,
    listening:
      options.register === true
        ? async (where, ctx) => {
            const dial = ctx.platform.dialStream;
            if (dial === undefined) throw new RpcError(Code.Unimplemented, "this runtime cannot reach rpcbind");
            const programs = [...programTable(ctx.dispatcher)].flatMap(([prog, versions]) =>
              [...versions.keys()].map((vers) => [prog, vers] as const),
            );
            return registerWithRpcbind(() => dial(`tcp://127.0.0.1:${portmapper}`, 5_000), programs, where);
          }
        : undefined,
    schemes: { "oncrpc+tcp": dialer("tcp"), "oncrpc+udp": dialer("udp") },
  };
}

/**
 * A transport for an address without a port: each call's program version is looked up with the
 * host's port mapper (once, then cached; again after the port stops answering), and the call goes
 * to a channel for that port.
 */
function viaPortmapper(
  lookup: (prog: number, vers: number) => Promise<number>,
  open: (port: number) => CallTransport,
): CallTransport {
  const ports = new Map<string, Promise<number>>();
  const channels = new Map<number, CallTransport>();
  return {
    async call(req) {
      const id = oncIdentity(req.method);
      if (id instanceof RpcError) throw id;
      const key = `${id.prog}/${id.vers}`;
      let port = ports.get(key);
      if (port === undefined) {
        port = lookup(id.prog, id.vers);
        ports.set(key, port);
        port.catch(() => ports.delete(key));
      }
      const p = await port;
      let channel = channels.get(p);
      if (channel === undefined) {
        channel = open(p);
        channels.set(p, channel);
      }
      try {
        return await channel.call(req);
      } catch (err) {
        if (err instanceof RpcError && err.code === Code.Unavailable) ports.delete(key);
        throw err;
      }
    },
    ping: () =>
      Promise.reject(new RpcError(Code.Unimplemented, "call procedure 0 of a program to ping an ONC RPC server")),
    async close() {
      await Promise.all([...channels.values()].map((c) => c.close()));
    },
  };
}
