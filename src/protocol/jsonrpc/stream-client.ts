import { utf8Bytes } from "../../codec/utf8.js";
import type { Limits } from "../../core/limits.js";
import { JsonSplitter } from "../json/json-splitter.js";
import type { MessagePipe } from "../message-pipe.js";
import type { AttachableStream } from "../protocol.js";
import type { JsonRpcClientSession, TextPipe } from "./client-session.js";

/** JSON-RPC texts over a byte stream: replies cut out by a splitter, requests written once per tick. */
export function clientOverStream(
  stream: AttachableStream,
  limits: Limits,
  session: (pipe: TextPipe) => JsonRpcClientSession,
): JsonRpcClientSession {
  let out: string[] = [];
  const flush = () => {
    const text = out.join("");
    out = [];
    stream.write([utf8Bytes(text)]);
  };
  const s = session({
    send(text) {
      if (out.length === 0) stream.schedule(flush);
      out.push(text, "\n");
    },
    end: () => stream.end(),
  });
  const splitter = new JsonSplitter(limits);
  stream.attach({
    onData(chunk) {
      let texts: Uint8Array[] = [];
      try {
        texts = splitter.push(chunk);
      } catch {
        // reported below, from splitter.error
      }
      for (const text of texts) s.onText(text);
      if (splitter.error !== undefined) {
        s.onClose(splitter.error);
        stream.destroy();
      }
    },
    onClose: (err) => s.onClose(err),
  });
  return s;
}

/** JSON-RPC over a message carrier (a WebSocket): one request text per message out, one reply text per message in. */
export function clientOverMessages(
  pipe: MessagePipe,
  session: (pipe: TextPipe) => JsonRpcClientSession,
): JsonRpcClientSession {
  const s = session({ send: (t) => pipe.send(t), end: () => pipe.close(1000) });
  pipe.attach({ onMessage: (bytes) => s.onText(bytes), onClose: () => s.onClose() });
  return s;
}
