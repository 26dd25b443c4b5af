import { defaultMessageTimeoutMs } from "../protocol.js";
/**
 * farcall wire protocol v1 constants. The byte-level specification is docs/protocol.md; keep the
 * two in step.
 */

/** `7F 46 41 52`: DEL, then "FAR". No HTTP method, JSON text, TLS record or ONC RPC record mark starts so. */
export const magic = Uint8Array.of(0x7f, 0x46, 0x41, 0x52);
export const protocolVersion = 1;
export const prefaceBytes = 8;
export const headerBytes = 10;

/**
 * Where a body stops being copied. The writer sends payloads this large as their own chunk (below
 * it a copy into the slab costs less than another chunk in the writev); the reader gives bodies
 * this large a buffer of their own instead of a place in its shared slab (a small body kept long
 * then pins at most its slab, a large one only itself).
 */
export const copyLimit = 16 * 1024;

/**
 * Bytes of stream messages a receiver lets a sender have in flight per stream at most (§5): the
 * window of a stream of large messages (small ones narrow it, see `GrantCounter`). With 1 MiB
 * (granted back at half) a 1 GB/s loopback stream stalled waiting for WINDOW frames to wake the
 * sender; 4 MiB gave 1.1–1.3× its throughput here. A slow consumer holds at most this much per
 * stream.
 */
export const defaultStreamWindowBytes = 4 * 1024 * 1024;

export const FrameType = {
  Request: 0x01,
  Response: 0x02,
  Error: 0x03,
  Cancel: 0x04,
  Data: 0x05,
  End: 0x06,
  Window: 0x07,
  Ping: 0x08,
  Pong: 0x09,
  GoAway: 0x0a,
  Settings: 0x0b,
} as const;

export const frameTypeNames: readonly string[] = [
  "?",
  "REQUEST",
  "RESPONSE",
  "ERROR",
  "CANCEL",
  "DATA",
  "END",
  "WINDOW",
  "PING",
  "PONG",
  "GOAWAY",
  "SETTINGS",
];

export const Flag = {
  /** REQUEST: binds the method id to the method name that follows. */
  Name: 0x01,
  /** REQUEST: a u32 timeout in ms follows. */
  Deadline: 0x02,
  /** REQUEST, RESPONSE, ERROR, END: a metadata block follows. */
  Metadata: 0x04,
  /** REQUEST: the caller expects no reply. */
  Oneway: 0x08,
  /** REQUEST: the request messages follow as DATA frames, closed by END. */
  Stream: 0x10,
  /** REQUEST: the caller expects a stream of replies (DATA frames, closed by END). */
  ResponseStream: 0x20,
  /** ERROR: the call was refused before any handler ran; it is safe to send again. */
  NotProcessed: 0x20,
  /** ERROR: codec-encoded details follow. */
  Details: 0x40,
} as const;

export const Setting = {
  MaxMessageBytes: 1,
  MaxMetadataBytes: 2,
  MaxInflight: 3,
  StreamWindowBytes: 4,
} as const;

/** Method ids a client may bind on one connection (1..maxMethodIds). */
export const maxMethodIds = 1024;
/** Longest method name, in UTF-8 bytes. */
export const maxMethodNameBytes = 256;
/** Room for a frame's fixed fields and method name beyond message and metadata. */
export const frameOverheadBytes = 512;

/**
 * How long a frame may stay incomplete (its header or body partly received) before the connection
 * fails: the server's messageTimeoutMs, 30 s by default (its reason is there). A stall while our own
 * output is backed up is not counted: the session may have stopped reading then.
 */
export const defaultFrameTimeoutMs = defaultMessageTimeoutMs;

/** What one DATA frame costs against the stream window: its payload plus its header. */
export function dataCost(payloadBytes: number): number {
  return payloadBytes + headerBytes;
}
