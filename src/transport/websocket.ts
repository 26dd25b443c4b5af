import { WebSocket } from "ws";
import type { ClientTlsOptions } from "../protocol/tls.js";
import type { WebSocketCtor } from "../protocol/websocket-like.js";
import { tlsMaterial } from "./tls.js";

/** Node's WebSocket client: the `ws` package, which has the browser's API. */
export const NodeWebSocket = WebSocket as unknown as WebSocketCtor;

/** Node's WebSocket client with TLS settings for `wss://`: the client's CAs and certificate. */
export function webSocketWithTls(tls: ClientTlsOptions): WebSocketCtor {
  const options = {
    ca: tlsMaterial(tls.ca),
    cert: tlsMaterial(tls.cert),
    key: tlsMaterial(tls.key),
    servername: tls.servername,
    minVersion: tls.minVersion ?? "TLSv1.2",
  };
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, options);
    }
  } as unknown as WebSocketCtor;
}
