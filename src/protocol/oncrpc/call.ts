// One ONC RPC call on the server, whatever carried it (a TCP record or a UDP datagram): the call
// header read and checked in RFC 5531's order, the method found by program, version and procedure,
// its arguments decoded, the handler run through the shared dispatcher, and the reply written.
import { decodeXdr, XdrReader } from "../../codec/xdr/decode.js";
import { writeXdr, XdrWriter } from "../../codec/xdr/encode.js";
import type { XdrType } from "../../codec/xdr/types.js";
import { Code } from "../../core/code.js";
import type { Credentials, Peer } from "../../core/interceptor.js";
import { createMetadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { MethodDescriptor } from "../../core/service.js";
import { admitLater, type ServerDispatcher } from "../call-context.js";
import { UnaryCall } from "../unary-call.js";
import { readAuthSys } from "./auth.js";
import {
  Accept,
  AuthStat,
  authNone,
  authSys,
  maxAuthBytes,
  msgCall,
  msgReply,
  Reject,
  replyAccepted,
  replyDenied,
  rpcVersion,
} from "./constants.js";

/**
 * Depth XDR arguments may nest to: linked lists of up to 512 items (docs/xdr.md), which ONC RPC
 * services return (rpcbind's DUMP is one), at the decoder's own ceiling (`maxDepthCapacity`), far
 * from the stack limit; the default 64 would refuse a 33-item list.
 */
export const oncMaxDepth = 1024;

type Versions = Map<number, Map<number, MethodDescriptor>>;
const tables = new WeakMap<ServerDispatcher, { count: number; programs: Map<number, Versions> }>();

/** The dispatcher's unary methods with a program, numeric version and id, by program → version → procedure. */
export function programTable(dispatcher: ServerDispatcher): Map<number, Versions> {
  const methods = dispatcher.methods();
  const known = tables.get(dispatcher);
  if (known !== undefined && known.count === methods.length) return known.programs;
  const programs = new Map<number, Versions>();
  for (const m of methods) {
    if (m.program === undefined || typeof m.version !== "number" || m.id === undefined || m.kind !== "unary") continue;
    const versions = programs.get(m.program) ?? new Map<number, Map<number, MethodDescriptor>>();
    programs.set(m.program, versions);
    const procs = versions.get(m.version) ?? new Map<number, MethodDescriptor>();
    versions.set(m.version, procs);
    procs.set(m.id, m);
  }
  tables.set(dispatcher, { count: methods.length, programs });
  return programs;
}

function header(xid: number, stat: number): XdrWriter {
  const w = new XdrWriter(64);
  w.u32(xid);
  w.u32(msgReply);
  w.u32(stat);
  return w;
}

/** An accepted reply with its status; `then` writes what follows it (results or a version range). */
export function acceptedReply(xid: number, stat: number, then?: (w: XdrWriter) => void): Uint8Array {
  const w = header(xid, replyAccepted);
  w.u32(authNone); // verifier: AUTH_NONE, empty
  w.u32(0);
  w.u32(stat);
  then?.(w);
  return w.finish();
}

export function rpcMismatchReply(xid: number): Uint8Array {
  const w = header(xid, replyDenied);
  w.u32(Reject.RPC_MISMATCH);
  w.u32(rpcVersion);
  w.u32(rpcVersion);
  return w.finish();
}

export function authErrorReply(xid: number, stat: number): Uint8Array {
  const w = header(xid, replyDenied);
  w.u32(Reject.AUTH_ERROR);
  w.u32(stat);
  return w.finish();
}

/**
 * The accept status an error from a handler (or its schema, or its result's encoding) becomes:
 * docs/protocols.md has the table.
 */
export function acceptStatOf(err: RpcError): number {
  if (err.code === Code.InvalidArgument) return Accept.GARBAGE_ARGS;
  if (err.code === Code.Unimplemented) return Accept.PROC_UNAVAIL;
  return Accept.SYSTEM_ERR;
}

/** What a call came to: a reply (now or later), or `close` for a message no server should answer. */
export type CallOutcome = { readonly reply: Uint8Array | Promise<Uint8Array> } | "close";

/** What a server call needs from its connection or socket. */
export interface CallSite {
  readonly dispatcher: ServerDispatcher;
  readonly peer: Peer;
  /** Called with each call that reaches its handler, so a closing connection can abort it. */
  readonly started?: ((call: UnaryCall) => void) | undefined;
  readonly ended?: ((call: UnaryCall) => void) | undefined;
}

/** Answers one ONC RPC message (a whole record or datagram). */
export function answerCall(message: Uint8Array, site: CallSite): CallOutcome {
  if (message.length < 8) return "close";
  const r = new XdrReader(message);
  const xid = r.u32();
  // A REPLY sent to a server, or anything but a CALL: not a conversation to have.
  if (r.u32() !== msgCall) return "close";
  if (message.length < 24) return { reply: acceptedReply(xid, Accept.GARBAGE_ARGS) };
  if (r.u32() !== rpcVersion) return { reply: rpcMismatchReply(xid) };
  const prog = r.u32();
  const vers = r.u32();
  const proc = r.u32();
  let credentials: Credentials | undefined;
  try {
    const flavor = r.u32();
    const length = r.u32();
    if (length > maxAuthBytes) return { reply: authErrorReply(xid, AuthStat.AUTH_BADCRED) };
    const body = r.fixed(length, "credential");
    const verfFlavor = r.u32();
    const verfLength = r.u32();
    if (verfLength > maxAuthBytes) return { reply: authErrorReply(xid, AuthStat.AUTH_BADVERF) };
    r.fixed(verfLength, "verifier");
    if (flavor === authSys) {
      credentials = readAuthSys(body);
      if (credentials === undefined) return { reply: authErrorReply(xid, AuthStat.AUTH_BADCRED) };
    } else if (flavor !== authNone) return { reply: authErrorReply(xid, AuthStat.AUTH_REJECTEDCRED) };
    if (verfFlavor !== authNone) return { reply: authErrorReply(xid, AuthStat.AUTH_BADVERF) };
  } catch {
    return { reply: authErrorReply(xid, AuthStat.AUTH_BADCRED) };
  }
  const versions = programTable(site.dispatcher).get(prog);
  if (versions === undefined) return { reply: acceptedReply(xid, Accept.PROG_UNAVAIL) };
  const procs = versions.get(vers);
  if (procs === undefined) {
    const served = [...versions.keys()];
    return {
      reply: acceptedReply(xid, Accept.PROG_MISMATCH, (w) => {
        w.u32(Math.min(...served));
        w.u32(Math.max(...served));
      }),
    };
  }
  const args = message.subarray(r.pos);
  const method = procs.get(proc);
  if (method === undefined) {
    // Procedure 0 answers for every program and version served, as a ping.
    if (proc === 0)
      return {
        reply: args.length === 0 ? acceptedReply(xid, Accept.SUCCESS) : acceptedReply(xid, Accept.GARBAGE_ARGS),
      };
    return { reply: acceptedReply(xid, Accept.PROC_UNAVAIL) };
  }
  const guard = site.dispatcher.guard;
  if (guard === undefined) return { reply: run(xid, method, args, credentials, undefined, site) };
  const incoming = {
    method,
    metadata: createMetadata(),
    peer: site.peer,
    timeoutMs: undefined,
    body: args.slice(),
    credentials,
  };
  return {
    // RFC 5531 §9: AUTH_REJECTEDCRED for credentials not accepted, AUTH_TOOWEAK for "rejected for security reasons".
    reply: admitLater(guard, incoming).then(
      (principal) => run(xid, method, incoming.body, credentials, principal, site),
      (err: unknown) =>
        authErrorReply(
          xid,
          RpcError.from(err).code === Code.PermissionDenied ? AuthStat.AUTH_TOOWEAK : AuthStat.AUTH_REJECTEDCRED,
        ),
    ),
  };
}

/** Decodes and runs a call that may run: its reply, now or later. */
function run(
  xid: number,
  method: MethodDescriptor,
  args: Uint8Array,
  credentials: Credentials | undefined,
  principal: unknown,
  site: CallSite,
): Uint8Array | Promise<Uint8Array> {
  const wire = method.wire as { input?: XdrType; output?: XdrType } | undefined;
  if (wire?.input === undefined || wire.output === undefined) return acceptedReply(xid, Accept.SYSTEM_ERR);
  let input: unknown;
  try {
    input = decodeXdr(wire.input, args, oncMaxDepth);
  } catch {
    return acceptedReply(xid, Accept.GARBAGE_ARGS);
  }
  const call = new UnaryCall(method, createMetadata(), site.peer, undefined);
  call.credentials = credentials;
  call.principal = principal;
  const output = wire.output;
  // The result is written straight after the reply header, into the same buffer.
  const succeed = (out: unknown): Uint8Array => {
    try {
      return acceptedReply(xid, Accept.SUCCESS, (w) => writeXdr(w, output, out));
    } catch (err) {
      site.dispatcher.toWire(err, method);
      return acceptedReply(xid, Accept.SYSTEM_ERR);
    }
  };
  const fail = (err: unknown) => acceptedReply(xid, acceptStatOf(RpcError.from(err)));
  let out: unknown;
  try {
    out = call.run(site.dispatcher, input);
  } catch (err) {
    return fail(err);
  }
  if (!(out instanceof Promise)) return succeed(out);
  site.started?.(call);
  return out.then(succeed, fail).finally(() => site.ended?.(call));
}
