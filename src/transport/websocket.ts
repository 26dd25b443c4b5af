import { WebSocket } from "ws";
import type { WebSocketCtor } from "../protocol/websocket-like.js";

/** Node's WebSocket client: the `ws` package, which has the browser's API. */
export const NodeWebSocket = WebSocket as unknown as WebSocketCtor;
