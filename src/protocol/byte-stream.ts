import type { Peer } from "../core/interceptor.js";

/**
 * Output a transport buffers before `needDrain` turns true: large enough that a burst of replies or
 * a few stream chunks never stall, small enough to bound memory per connection.
 */
export const maxBufferedBytes = 1024 * 1024;

/**
 * A connection whose output stays above {@link maxBufferedBytes} for this long is closed: its peer
 * stopped reading. A peer that reads drains 1 MiB in well under a second on any link above
 * 300 kbit/s, so 30 s is only ever a stopped or stuck reader, and a stuck connection holds its
 * buffered output (about 1 MiB) no longer than that.
 */
export const defaultWriteStallTimeoutMs = 30_000;

/**
 * What a protocol session gets from a transport: an ordered, reliable byte stream.
 * The transport owns the socket; the session owns the framing. Chunks handed to `write` must not
 * be modified afterwards.
 */
export interface ByteStream {
  readonly peer: Peer;
  /**
   * True when a chunk passed to `onData` is valid only during that call (the transport reads into
   * one buffer it reuses): the session copies what it keeps. Otherwise chunks stay valid.
   */
  readonly transientChunks?: boolean;
  /** Writes the chunks, in order, as one batch (one syscall where the transport can). */
  write(chunks: Uint8Array[]): void;
  /** True while more is buffered than the transport wants; wait for `onDrain` before writing more. */
  readonly needDrain: boolean;
  /** Calls `cb` once, when the buffered output has drained (at once when nothing is buffered). */
  onDrain(cb: () => void): void;
  /** Runs `cb` after the current batch of work (Node: process.nextTick), to coalesce writes. */
  schedule(cb: () => void): void;
  /** Stops delivering data until `resume`. */
  pause(): void;
  resume(): void;
  /** Flushes what is buffered, then closes the writing side; the stream closes when the peer does. */
  end(): void;
  /** Closes at once; pending output is dropped. */
  destroy(): void;
}

/** What a transport delivers to a session. */
export interface ByteStreamHandler {
  /** A chunk of bytes; it stays valid after the call (the session may keep views of it) unless the stream's `transientChunks` is set. */
  onData(chunk: Uint8Array): void;
  /**
   * The peer will send no more (FIN). A session that has this method must end the stream itself
   * when it is done answering; without it, the transport ends its side at once.
   */
  onEnd?(): void;
  /** The stream closed (peer FIN, reset, or `destroy`); `error` says why when it was not clean. */
  onClose(error?: Error): void;
}
