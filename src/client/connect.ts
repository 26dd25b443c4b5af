import { connect } from "../transport/tcp.js";
import { dialUdp as dialDatagram } from "../transport/udp.js";
import { Client, type ClientOptions } from "./client.js";
import { transportFor } from "./transports.js";

// `ws` is loaded only by clients that dial a WebSocket address: it adds ~7 MiB to a process's RSS.
const loadWebSocket = () => import("../transport/websocket.js").then((m) => m.NodeWebSocket);

/**
 * Creates a client for an address; the scheme picks the protocol (docs/protocols.md):
 * `tcp://host:port`, `unix:///path`, `ws://…` (farcall), `http://…` (HTTP JSON),
 * `jsonrpc+tcp://`, `jsonrpc+http://`, `jsonrpc+ws://` (JSON-RPC 2.0), `gorpc+tcp://` (Go net/rpc),
 * `oncrpc+tcp://`, `oncrpc+udp://` (ONC RPC),
 * and the schemes of any protocol in `options.protocols`. Nothing connects until the first call.
 * @throws RpcError `invalid_argument` for a scheme no protocol owns
 */
export function createClient(address: string, options: ClientOptions = {}): Client {
  return new Client(
    address,
    options,
    transportFor(address, options, { dialStream: connect, loadWebSocket, fetch: globalThis.fetch, dialDatagram }),
  );
}
