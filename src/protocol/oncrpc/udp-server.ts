// ONC RPC over UDP on the server: one call per datagram, the reply to the datagram's sender. A
// retransmitted call (same sender, same xid) is not run again: while it runs the copy is dropped,
// once answered the same reply is sent again (a duplicate request cache, as NFS servers keep,
// keyed by sender, xid, program, version and procedure).
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { DatagramSocket } from "../datagram.js";
import type { ServeContext } from "../protocol.js";
import type { UnaryCall } from "../unary-call.js";
import { acceptedReply, answerCall, type CallSite } from "./call.js";
import { Accept } from "./constants.js";

/**
 * Calls from one sender running at once; more are dropped (the sender retransmits). UDP senders
 * cannot be told to slow down, and a forged source address costs nothing, so one sender must not
 * fill `maxInflight` (20,000) alone; 64 is the in-flight depth farcall's own clients use, and
 * NFS clients keep fewer outstanding per socket.
 */
export const maxCallsPerSender = 64;
/**
 * Replies remembered for retransmitted calls, the oldest forgotten first. A client retransmits
 * within its call's timeout (libtirpc: 25 s); 4,096 replies cover that at ~160 calls/s of
 * non-repeated traffic, and hold at most 4,096 × 65,507 bytes only if every reply is a full
 * datagram (typical replies are tens of bytes).
 */
export const replyCacheEntries = 4096;

export function serveOncUdp(socket: DatagramSocket, ctx: ServeContext): void {
  const cache = new Map<string, Uint8Array | "running">();
  const perSender = new Map<string, number>();
  const running = new Set<UnaryCall>();
  let inflight = 0;
  let draining = false;
  let untrack: (() => void) | undefined;

  const remember = (key: string, value: Uint8Array | "running") => {
    cache.delete(key);
    cache.set(key, value);
    if (cache.size > replyCacheEntries) cache.delete(cache.keys().next().value as string);
  };
  const finishedOne = (sender: string) => {
    inflight--;
    const n = (perSender.get(sender) ?? 1) - 1;
    if (n === 0) perSender.delete(sender);
    else perSender.set(sender, n);
    if (draining && inflight === 0) untrack?.();
  };

  socket.attach({
    onDatagram(message, from) {
      if (draining || ctx.draining || message.length < 8) return;
      const sender = `${from.address}|${from.port}`;
      const view = new DataView(message.buffer, message.byteOffset, message.length);
      const xid = view.getUint32(0);
      // The call's program, version and procedure are part of the key, as NFS servers' caches
      // compare them: a sender that reuses an xid for another call gets that call run.
      const head = message.length >= 24 ? `${view.getUint32(12)}|${view.getUint32(16)}|${view.getUint32(20)}` : "";
      const key = `${sender}|${xid}|${head}`;
      const known = cache.get(key);
      if (known === "running") return;
      if (known !== undefined) {
        socket.send(known, from);
        return;
      }
      if (inflight >= ctx.limits.maxInflight || (perSender.get(sender) ?? 0) >= maxCallsPerSender) return;
      const site: CallSite = {
        dispatcher: ctx.dispatcher,
        peer: from,
        started: (call) => running.add(call),
        ended: (call) => running.delete(call),
      };
      const outcome = answerCall(message, site);
      if (outcome === "close") return;
      inflight++;
      perSender.set(sender, (perSender.get(sender) ?? 0) + 1);
      const answer = (reply: Uint8Array) => {
        const fits = reply.length <= socket.maxDatagramBytes ? reply : acceptedReply(xid, Accept.SYSTEM_ERR);
        remember(key, fits);
        socket.send(fits, from);
      };
      if (outcome.reply instanceof Uint8Array) {
        answer(outcome.reply);
        finishedOne(sender);
      } else {
        remember(key, "running");
        outcome.reply.then(answer).finally(() => finishedOne(sender));
      }
    },
    onClose() {
      const err = new RpcError(Code.Canceled, "server closed");
      for (const call of running) call.abort(err);
      untrack?.();
    },
  });
  untrack = ctx.track({
    goAway: () => {
      draining = true;
      if (inflight === 0) untrack?.();
    },
    forceClose: () => {
      const err = new RpcError(Code.Canceled, "server closed");
      for (const call of running) call.abort(err);
      untrack?.();
    },
  });
}
