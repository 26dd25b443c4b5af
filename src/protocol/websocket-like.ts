/**
 * The part of a WebSocket that farcall uses; the browser's `WebSocket` and the `ws` package's
 * both have it, so sessions over WebSocket run unchanged on either.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", cb: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", cb: (event: unknown) => void): void;
  addEventListener(type: "open", cb: (event: unknown) => void): void;
}

/** `readyState` values. */
export const WsState = { Connecting: 0, Open: 1, Closing: 2, Closed: 3 } as const;

/** A message's data as bytes (`binaryType` "arraybuffer"; ws may hand a Buffer or Buffer[]). */
export function messageBytes(data: unknown): Uint8Array | string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) {
    let length = 0;
    for (const part of data as Uint8Array[]) length += part.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of data as Uint8Array[]) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
  return new Uint8Array(0);
}
