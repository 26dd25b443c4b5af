import { concatBytes } from "../core/bytes.js";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

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
  if (Array.isArray(data)) return concatBytes(data as Uint8Array[]);
  return new Uint8Array(0);
}

/** A WebSocket constructor: the browser's global one, or the `ws` package's. */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Opens a WebSocket asking for `protocol`; resolves once open. Rejects with `unavailable` (safe
 * to retry) when it fails, times out, or the server picked another subprotocol.
 */
export function openWebSocket(
  ctor: WebSocketCtor,
  url: string,
  protocol: string,
  timeoutMs: number,
): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let ws: WebSocketLike;
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new RpcError(Code.Unavailable, `cannot open ${url}: ${why}`, { safeToRetry: true }));
    };
    try {
      ws = new ctor(url, protocol);
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    const timer = setTimeout(() => {
      fail(`no answer within ${timeoutMs} ms`);
      ws.close();
    }, timeoutMs);
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      if (ws.protocol === protocol) resolve(ws);
      else {
        ws.close(1002, "subprotocol not agreed");
        fail(`server did not agree to subprotocol ${protocol}`);
      }
    });
    ws.addEventListener("error", () => fail("connection failed"));
  });
}
