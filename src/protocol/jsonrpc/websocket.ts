import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { DrainableSession } from "../protocol.js";
import { messageBytes, type WebSocketLike, WsState } from "../websocket-like.js";
import type { JsonRpcResponder } from "./server.js";

const encoder = new TextEncoder();

/**
 * JSON-RPC 2.0 over a WebSocket: each message (text or binary) is one JSON text, each answer one
 * text message. Returns the session's drain controls.
 */
export function serveWebSocket(
  ws: WebSocketLike,
  responder: JsonRpcResponder,
  maxMessageBytes: number,
  onClose: () => void,
): DrainableSession {
  let draining = false;
  let closed = false;
  const send = (text: string | undefined) => {
    if (text !== undefined && ws.readyState === WsState.Open) ws.send(text);
    if (draining && responder.inflight === 0) ws.close(1001, "server going away");
  };
  ws.binaryType = "arraybuffer";
  ws.addEventListener("message", (event) => {
    if (draining) return;
    const data = messageBytes(event.data);
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > maxMessageBytes) {
      ws.close(1009, `message size ${bytes.length} exceeds maxMessageBytes ${maxMessageBytes}`);
      return;
    }
    const answer = responder.handle(bytes);
    if (answer instanceof Promise) answer.then(send);
    else if (answer !== undefined) send(answer);
  });
  const close = () => {
    if (closed) return;
    closed = true;
    responder.abortAll(new RpcError(Code.Canceled, "connection closed"));
    onClose();
  };
  ws.addEventListener("close", close);
  ws.addEventListener("error", close);
  return {
    goAway() {
      draining = true;
      send(undefined);
    },
    forceClose() {
      (ws as { terminate?: () => void }).terminate?.();
      close();
    },
  };
}
