// An ONC RPC connection on the server: records in, calls answered in any order (matched by xid),
// replies out as one-fragment records. Reading pauses while replies back up.
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Connection, ServeContext } from "../protocol.js";
import type { UnaryCall } from "../unary-call.js";
import { acceptedReply, answerCall, type CallSite } from "./call.js";
import { Accept } from "./constants.js";
import { RecordReader, recordMark } from "./records.js";

/** Room for the call header (two opaque_auth of 400 bytes and the fixed fields) besides the arguments. */
export const headerAllowance = 1024;

export function serveOncTcp(conn: Connection, ctx: ServeContext): void {
  const { stream } = conn;
  const reader = new RecordReader(ctx.limits.maxMessageBytes + headerAllowance, stream.transientChunks === true);
  const running = new Set<UnaryCall>();
  let inflight = 0;
  let draining = false;
  let closed = false;
  let paused = false;
  let lastData = Date.now();
  let recordSince = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  // Replies finished in one tick go out as one write.
  let queued: Uint8Array[] = [];
  const flush = () => {
    const chunks = queued;
    queued = [];
    if (!closed && chunks.length > 0) stream.write(chunks);
  };
  const send = (reply: Uint8Array) => {
    if (closed) return;
    if (queued.length === 0) stream.schedule(flush);
    queued.push(recordMark(reply.length), reply);
    // Every 16 records written at once, so the peer starts on them early (docs/architecture.md).
    if (queued.length >= 32) flush();
    if (stream.needDrain && !paused) {
      paused = true;
      stream.pause();
      stream.onDrain(() => {
        paused = false;
        if (!closed && !draining) stream.resume();
      });
    }
  };
  const settle = () => {
    inflight--;
    // After the queued replies' flush, which was scheduled first.
    if (draining && inflight === 0) stream.schedule(() => stream.end());
  };
  const site: CallSite = {
    dispatcher: ctx.dispatcher,
    peer: stream.peer,
    started: (call) => running.add(call),
    ended: (call) => running.delete(call),
  };
  const onRecord = (record: Uint8Array): boolean => {
    conn.handshakeDone();
    if (draining) return false;
    if (inflight >= ctx.limits.maxInflight) {
      // No status says "busy": SYSTEM_ERR, as a server out of resources answers.
      const xid = record.length >= 4 ? new DataView(record.buffer, record.byteOffset, 4).getUint32(0) : 0;
      send(acceptedReply(xid, Accept.SYSTEM_ERR));
      return true;
    }
    const outcome = answerCall(record, site);
    if (outcome === "close") {
      stream.destroy();
      return false;
    }
    inflight++;
    const { reply } = outcome;
    if (reply instanceof Uint8Array) {
      send(reply);
      settle();
    } else {
      reply.then(send).finally(settle);
    }
    return true;
  };

  const periods = [ctx.idleTimeoutMs, ctx.messageTimeoutMs].filter((ms) => ms > 0);
  const arm = () => {
    if (periods.length === 0 || closed) return;
    timer = setTimeout(
      () => {
        const now = Date.now();
        if (ctx.messageTimeoutMs > 0 && recordSince !== 0 && now - recordSince >= ctx.messageTimeoutMs) {
          stream.destroy();
          return;
        }
        if (ctx.idleTimeoutMs > 0 && inflight === 0 && recordSince === 0 && now - lastData >= ctx.idleTimeoutMs) {
          stream.end();
          return;
        }
        arm();
      },
      Math.min(...periods) / 2,
    );
    timer.unref?.();
  };

  const untrack = ctx.track({
    goAway: () => {
      draining = true;
      stream.pause();
      if (inflight === 0) stream.schedule(() => stream.end());
    },
    forceClose: () => stream.destroy(),
  });
  const onData = (chunk: Uint8Array) => {
    lastData = Date.now();
    const why = reader.push(chunk, onRecord);
    if (why !== undefined) {
      stream.destroy();
      return;
    }
    recordSince = reader.inRecord ? recordSince || lastData : 0;
  };
  stream.attach({
    onData,
    onClose: () => {
      closed = true;
      clearTimeout(timer);
      conn.handshakeDone();
      const err = new RpcError(Code.Canceled, "connection closed");
      for (const call of running) call.abort(err);
      running.clear();
      untrack();
    },
  });
  arm();
  if (ctx.draining) {
    stream.destroy();
    return;
  }
  onData(conn.first);
}
