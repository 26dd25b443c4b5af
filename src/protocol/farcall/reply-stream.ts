import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { ByteStream } from "../byte-stream.js";
import type { SendCredit } from "../flow.js";
import { type LoopTurn, replyStreamTurn } from "../loop-turn.js";
import { dataCost } from "./constants.js";

/**
 * The clock is read after this many items or bytes of DATA, whichever comes first: 16 small items
 * take ~15 µs to send here, one 64 KiB chunk ~25 µs, so a slice overruns by little, and reading the
 * clock (~75 ns) costs small items ~5 ns each.
 */
const turnCheckItems = 16;
const turnCheckBytes = 64 * 1024;

/** The call a reply stream belongs to. */
export interface ReplyStreamCall {
  readonly id: number;
  /** Set once the call ended (its final frame went out, or it was canceled). */
  readonly done: boolean;
  /** The client's credit for this stream (docs/protocol.md §5). */
  readonly credit: SendCredit | undefined;
}

/** What a reply stream needs from its session (the session implements it itself). */
export interface ReplyStreamSession<C extends ReplyStreamCall> {
  readonly stream: ByteStream;
  /** Queues one DATA frame carrying `value`; returns its payload size. Throws if it cannot be encoded. */
  writeData(call: C, value: unknown): number;
  /** Writes END (with the handler's trailers, if any) and ends the call. */
  endStream(call: C): void;
  /** Ends the call with what the handler's stream threw. */
  failStream(call: C, err: unknown): void;
}

/**
 * Writes a handler's reply stream as DATA frames within the client's credit, then END.
 *
 * It waits while the credit is spent or the transport's buffer is full, and every slice of
 * `turn` (1 ms) it lets the event loop run, so that what the client sends meanwhile is read: a
 * CANCEL, WINDOW, PING or another call. Without that, a fast generator with credit left kept the
 * loop to itself (see loop-turn.ts). After the call ends under it (CANCEL, deadline, shutdown) it
 * stops the handler's generator.
 */
export async function pumpReplyStream<C extends ReplyStreamCall>(
  session: ReplyStreamSession<C>,
  call: C,
  output: unknown,
  turn: LoopTurn = replyStreamTurn,
): Promise<void> {
  const credit = call.credit as SendCredit;
  const stream = session.stream;
  let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  let items = 0;
  let bytes = 0;
  try {
    if (typeof output !== "object" || output === null)
      throw new RpcError(Code.Internal, "handler returned no iterable");
    if (Symbol.asyncIterator in output) iterator = (output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    else if (Symbol.iterator in output) iterator = (output as Iterable<unknown>)[Symbol.iterator]();
    else throw new RpcError(Code.Internal, "handler returned no iterable");
    for (;;) {
      // Both waits end in an I/O callback (a WINDOW read, 'drain'): the loop has turned.
      if (!credit.available) {
        await credit.ready();
        turn.restart();
      }
      if (stream.needDrain) {
        await new Promise<void>((r) => stream.onDrain(r));
        turn.restart();
      }
      if (call.done) break;
      const next = await iterator.next();
      if (call.done) break;
      if (next.done) return session.endStream(call);
      const cost = dataCost(session.writeData(call, next.value));
      credit.spend(cost);
      bytes += cost;
      if (++items >= turnCheckItems || bytes >= turnCheckBytes) {
        items = bytes = 0;
        if (turn.due) await turn.next();
      }
    }
    await iterator.return?.();
  } catch (err) {
    if (call.done) return;
    session.failStream(call, err);
    try {
      await iterator?.return?.();
    } catch {
      // The generator failed while closing; the call is already over.
    }
  }
}
