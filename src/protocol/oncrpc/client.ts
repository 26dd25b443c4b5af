// The client side of ONC RPC over TCP (`oncrpc+tcp://host:port`): calls numbered by xid, replies
// matched by xid in any order, many in flight on one connection, deadlines and cancellation kept
// on this side (the protocol carries neither; an answer that comes after is dropped).
import { decodeXdr, XdrReader } from "../../codec/xdr/decode.js";
import { encodeXdr, XdrWriter } from "../../codec/xdr/encode.js";
import type { XdrType } from "../../codec/xdr/types.js";
import { Code } from "../../core/code.js";
import { CallWatch, refusalOf } from "../../core/deadline.js";
import type { Credentials, RpcResponse } from "../../core/interceptor.js";
import type { Limits } from "../../core/limits.js";
import { createMetadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { MethodDescriptor } from "../../core/service.js";
import { IdTable } from "../id-table.js";
import type { MessagePipe } from "../message-pipe.js";
import type { AttachableStream, ChannelSession, SessionCallOptions } from "../protocol.js";
import { writeCredential } from "./auth.js";
import { oncMaxDepth } from "./call.js";
import { Accept, msgCall, msgReply, Reject, replyAccepted, rpcVersion } from "./constants.js";
import { RecordReader, recordMark } from "./records.js";
import { headerAllowance } from "./server.js";

/** A call's program, version and procedure numbers and its XDR types, or why it has none. */
export function oncIdentity(
  method: MethodDescriptor,
): { prog: number; vers: number; proc: number; input: XdrType; output: XdrType } | RpcError {
  const wire = method.wire as { input?: XdrType; output?: XdrType } | undefined;
  if (
    method.program === undefined ||
    typeof method.version !== "number" ||
    method.id === undefined ||
    wire?.input === undefined ||
    wire.output === undefined
  ) {
    return new RpcError(
      Code.InvalidArgument,
      `${method.path} has no ONC RPC program, version, procedure number and XDR wire types (declare it in a .x file: farcall gen)`,
    );
  }
  if (method.kind !== "unary")
    return new RpcError(Code.Unimplemented, `${method.path}: ONC RPC carries unary calls, not ${method.kind}`);
  return { prog: method.program, vers: method.version, proc: method.id, input: wire.input, output: wire.output };
}

/** The body of an ONC RPC call message. */
export function callMessage(
  xid: number,
  prog: number,
  vers: number,
  proc: number,
  cred: Credentials | undefined,
  args: Uint8Array,
): Uint8Array {
  const w = new XdrWriter(64 + args.length);
  w.u32(xid);
  w.u32(msgCall);
  w.u32(rpcVersion);
  w.u32(prog);
  w.u32(vers);
  w.u32(proc);
  writeCredential(w, cred);
  w.u32(0); // verifier: AUTH_NONE
  w.u32(0);
  w.bytes(args);
  return w.finish();
}

const authNames = [
  "ok",
  "bad credential",
  "credential rejected",
  "bad verifier",
  "verifier rejected",
  "too weak",
  "invalid response",
  "failed",
];

/**
 * What a reply says: its xid and the decoded result, or the error its status stands for
 * (docs/protocols.md has the table). `undefined` for something that is not a reply.
 */
export function readReply(
  message: Uint8Array,
  output: (xid: number) => XdrType | undefined,
): { xid: number; outcome: unknown | RpcError } | undefined {
  const r = new XdrReader(message);
  try {
    const xid = r.u32();
    if (r.u32() !== msgReply) return undefined;
    const type = output(xid);
    if (type === undefined) return { xid, outcome: undefined };
    if (r.u32() !== replyAccepted) {
      const stat = r.u32();
      if (stat === Reject.RPC_MISMATCH) {
        const low = r.u32();
        const high = r.u32();
        return {
          xid,
          outcome: new RpcError(Code.Unimplemented, `server speaks RPC versions ${low} to ${high}, not 2`),
        };
      }
      const why = r.u32();
      return {
        xid,
        outcome: new RpcError(
          Code.Unauthenticated,
          `server refused the credentials: ${authNames[why] ?? `auth_stat ${why}`}`,
        ),
      };
    }
    r.u32(); // verifier flavor
    r.variable(400, "verifier");
    const stat = r.u32();
    switch (stat) {
      case Accept.SUCCESS:
        return { xid, outcome: decodeXdr(type, message.subarray(r.pos), oncMaxDepth) };
      case Accept.PROG_UNAVAIL:
        return { xid, outcome: new RpcError(Code.Unimplemented, "program unavailable (PROG_UNAVAIL)") };
      case Accept.PROG_MISMATCH: {
        const low = r.u32();
        const high = r.u32();
        return {
          xid,
          outcome: new RpcError(
            Code.Unimplemented,
            `program version mismatch (PROG_MISMATCH): the server has versions ${low} to ${high}`,
            { details: [{ low, high }] },
          ),
        };
      }
      case Accept.PROC_UNAVAIL:
        return { xid, outcome: new RpcError(Code.Unimplemented, "procedure unavailable (PROC_UNAVAIL)") };
      case Accept.GARBAGE_ARGS:
        return {
          xid,
          outcome: new RpcError(Code.InvalidArgument, "server could not decode the arguments (GARBAGE_ARGS)"),
        };
      default:
        return {
          xid,
          outcome: new RpcError(
            Code.Internal,
            `server error (${stat === Accept.SYSTEM_ERR ? "SYSTEM_ERR" : `accept_stat ${stat}`})`,
          ),
        };
    }
  } catch (err) {
    const xid = message.length >= 4 ? new DataView(message.buffer, message.byteOffset).getUint32(0) : -1;
    return { xid, outcome: RpcError.from(err, Code.Internal) };
  }
}

/**
 * UDP retransmission: the first after 250 ms (loopback and LAN round trips are well under it, so a
 * lost datagram costs little), then each twice as late, at most 4 s apart, so a slow or lossy path
 * is not flooded (RFC 5531 leaves the policy to the client; libtirpc waits a fixed 5 s).
 */
export const firstRetransmitMs = 250;
export const maxRetransmitMs = 4_000;
/** A UDP call without a deadline gives up after this long without a reply (libtirpc's 25 s). */
export const udpGiveUpMs = 25_000;

class Pending extends CallWatch {
  /** UDP: the call's datagram and when it is sent again. */
  retransmit: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly session: OncClientSession,
    readonly id: number,
    readonly output: XdrType,
    readonly resolve: (r: RpcResponse) => void,
    readonly reject: (e: RpcError) => void,
  ) {
    super();
  }
  giveUp(reason: RpcError): void {
    this.session.settle(this.id, reason);
  }
}

/** ONC RPC client options (`builtinProtocols({ oncrpc })`). */
export interface OncClientOptions {
  /** AUTH_SYS credentials sent with every call; AUTH_NONE without. */
  readonly credentials?: Credentials | undefined;
}

/** What a session sends its calls over: TCP records or UDP datagrams. */
interface Carrier {
  /** Sends one call message. */
  send(message: Uint8Array): void;
  /** True for datagrams: calls are sent again until answered. */
  readonly retransmits: boolean;
  end(): void;
  destroy(): void;
}

/** A TCP connection's carrier: each message one record. */
export function recordCarrier(stream: AttachableStream, limits: Limits, session: () => OncClientSession): Carrier {
  const reader = new RecordReader(limits.maxMessageBytes + headerAllowance, stream.transientChunks === true);
  stream.attach({
    onData: (chunk) => {
      const s = session();
      const why = reader.push(chunk, (record) => {
        s.onReply(record);
        return !s.closed;
      });
      if (why !== undefined) s.fail(new RpcError(Code.ResourceExhausted, `server sent a ${why}`));
    },
    onClose: () => session().closeNow(new RpcError(Code.Unavailable, "connection closed")),
  });
  // Records sent in one tick go out as one write (one syscall for 64 calls in flight, not 64).
  let queued: Uint8Array[] = [];
  const flush = () => {
    const chunks = queued;
    queued = [];
    if (chunks.length > 0) stream.write(chunks);
  };
  return {
    send: (message) => {
      if (queued.length === 0) stream.schedule(flush);
      queued.push(recordMark(message.length), message);
      // Every 16 records written at once, so the peer starts on them early (docs/architecture.md).
      if (queued.length >= 32) flush();
    },
    retransmits: false,
    end: () => stream.end(),
    destroy: () => stream.destroy(),
  };
}

/** A UDP socket's carrier: each message one datagram. */
export function datagramCarrier(pipe: MessagePipe, session: () => OncClientSession): Carrier {
  pipe.attach({
    onMessage: (message) => session().onReply(message),
    onClose: () => session().closeNow(new RpcError(Code.Unavailable, "udp socket closed (is the server listening?)")),
  });
  return {
    send: (message) => pipe.send(message),
    retransmits: true,
    end: () => pipe.close(),
    destroy: () => pipe.terminate(),
  };
}

/**
 * One ONC RPC client connection (TCP) or socket (UDP). Over UDP a call is sent again with the same
 * xid, later each time, until it is answered or its deadline passes (RFC 5531 leaves
 * retransmission to the client; a server that keeps a reply cache, as farcall's does, then runs it once).
 */
export class OncClientSession implements ChannelSession {
  private readonly pending = new IdTable<Pending>();
  /** xids start at a random point, as RFC 5531 §9 advises, so a restarted client's do not repeat. */
  private readonly xidBase = (Math.random() * 0x1_0000_0000) >>> 0;
  private readonly carrier: Carrier;
  private draining = false;
  closed = false;
  established = false;

  constructor(
    carrier: (session: () => OncClientSession) => Carrier,
    private readonly options: OncClientOptions,
    private readonly onClose: (err: RpcError) => void,
  ) {
    this.carrier = carrier(() => this);
  }

  get usable(): boolean {
    return !this.closed && !this.draining;
  }

  call(method: MethodDescriptor, input: unknown, options: SessionCallOptions): Promise<RpcResponse> {
    if (this.closed) return Promise.reject(new RpcError(Code.Unavailable, "connection closed", { safeToRetry: true }));
    const id = oncIdentity(method);
    if (id instanceof RpcError) return Promise.reject(id);
    const refusal = refusalOf(options);
    if (refusal !== undefined) return Promise.reject(refusal);
    let args: Uint8Array;
    try {
      args = encodeXdr(id.input, input);
    } catch (err) {
      return Promise.reject(RpcError.from(err, Code.Internal));
    }
    const n = this.pending.nextFreeId();
    const body = callMessage((this.xidBase + n) >>> 0, id.prog, id.vers, id.proc, this.options.credentials, args);
    return new Promise((resolve, reject) => {
      const p = new Pending(this, n, id.output, resolve, reject);
      this.pending.set(n, p);
      this.carrier.send(body);
      if (this.carrier.retransmits) {
        const deadline = options.deadline ?? Date.now() + udpGiveUpMs;
        const again = (waitMs: number) => {
          p.retransmit = setTimeout(() => {
            if (Date.now() >= deadline) {
              return this.settle(n, new RpcError(Code.DeadlineExceeded, `no reply over udp within ${udpGiveUpMs} ms`));
            }
            this.carrier.send(body);
            again(Math.min(waitMs * 2, maxRetransmitMs));
          }, waitMs);
        };
        again(firstRetransmitMs);
      }
      p.start(options);
    });
  }

  ping(): Promise<number> {
    return Promise.reject(new RpcError(Code.Unimplemented, "call procedure 0 of a program to ping an ONC RPC server"));
  }

  /** A reply record or datagram from the server. */
  onReply(message: Uint8Array): void {
    const reply = readReply(message, (xid) => this.pending.get((xid - this.xidBase) >>> 0)?.output);
    if (reply === undefined) {
      // Over UDP a stray datagram is ignored; over TCP the stream is not ONC RPC.
      if (!this.carrier.retransmits) this.fail(new RpcError(Code.Internal, "server sent something other than a reply"));
      return;
    }
    const n = (reply.xid - this.xidBase) >>> 0;
    if (!this.pending.has(n)) return; // an answer to a call given up on, or a duplicate
    this.established = true;
    this.settle(
      n,
      reply.outcome instanceof RpcError ? reply.outcome : { output: reply.outcome, metadata: createMetadata() },
    );
  }

  settle(n: number, outcome: RpcResponse | RpcError): void {
    const p = this.pending.get(n);
    if (p === undefined) return;
    this.pending.delete(n);
    p.stop();
    clearTimeout(p.retransmit);
    if (outcome instanceof RpcError) p.reject(outcome);
    else p.resolve(outcome);
    if (this.draining && this.pending.size === 0) this.carrier.end();
  }

  shutdown(): void {
    this.draining = true;
    if (this.pending.size === 0) this.carrier.end();
  }

  fail(err: RpcError): void {
    this.closeNow(err);
    this.carrier.destroy();
  }

  closeNow(err: RpcError): void {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.pending.keys()) this.settle(n, err);
    this.onClose(err);
  }
}
