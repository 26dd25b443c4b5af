import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { MessagePipe } from "../message-pipe.js";
import type { DrainableSession } from "../protocol.js";
import type { JsonRpcResponder } from "./server.js";

/**
 * JSON-RPC 2.0 over a message carrier (a WebSocket): each message (text or binary) is one JSON
 * text, each answer one text message. Returns the session's drain controls.
 */
export function serveMessages(
  pipe: MessagePipe,
  responder: JsonRpcResponder,
  maxMessageBytes: number,
  onClose: () => void,
): DrainableSession {
  let draining = false;
  let closed = false;
  const send = (text: string | undefined) => {
    if (text !== undefined) pipe.send(text);
    if (draining && responder.inflight === 0) pipe.close(1001, "server going away");
  };
  pipe.attach({
    onMessage(bytes) {
      if (draining) return;
      if (bytes.length > maxMessageBytes) {
        pipe.close(1009, `message size ${bytes.length} exceeds maxMessageBytes ${maxMessageBytes}`);
        return;
      }
      const answer = responder.handle(bytes);
      if (answer instanceof Promise) answer.then(send);
      else if (answer !== undefined) send(answer);
    },
    onClose() {
      if (closed) return;
      closed = true;
      responder.abortAll(new RpcError(Code.Canceled, "connection closed"));
      onClose();
    },
  });
  return {
    goAway() {
      draining = true;
      send(undefined);
    },
    forceClose() {
      pipe.terminate();
    },
  };
}
