import type { CallTransport, StreamDialOptions } from "../protocol/protocol.js";
import type { ClientTlsOptions } from "../protocol/tls.js";
import { fetchWithTls } from "../transport/https-fetch.js";
import { connect } from "../transport/tcp.js";
import { connectTls } from "../transport/tls.js";
import { dialUdp as dialDatagram } from "../transport/udp.js";
import { Client, type ClientOptions } from "./client.js";
import { hmacSigner } from "./hmac.js";
import { transportFor } from "./transports.js";

// `ws` is loaded only by clients that dial a WebSocket address: it adds ~7 MiB to a process's RSS.
const loadWebSocket = (tls: ClientTlsOptions | undefined) => () =>
  import("../transport/websocket.js").then((m) => (tls === undefined ? m.NodeWebSocket : m.webSocketWithTls(tls)));

const dialStream =
  (tls: ClientTlsOptions | undefined) =>
  (address: string, timeoutMs: number, options: StreamDialOptions = {}) =>
    options.tls === undefined
      ? connect(address, timeoutMs, options.reuseReadBuffer)
      : connectTls(address, timeoutMs, tls ?? {}, options.tls);

/**
 * A client for one address (the package's `createClient` also takes names and lists, and comes
 * here for everything else); the scheme picks the protocol (docs/protocols.md):
 * `tcp://host:port`, `unix:///path`, `tls://host:port`, `ws://…`, `wss://…` (farcall),
 * `http://…`, `https://…` (HTTP JSON), `jsonrpc+tcp://`, `jsonrpc+tls://`, `jsonrpc+http(s)://`,
 * `jsonrpc+ws(s)://` (JSON-RPC 2.0), `gorpc+tcp://`, `gorpc+tls://` (Go net/rpc),
 * `oncrpc+tcp://`, `oncrpc+udp://` (ONC RPC), and the schemes of any protocol in
 * `options.protocols`. `options.tls` says whom TLS schemes trust and which certificate they show.
 * Nothing connects until the first call.
 * @throws RpcError `invalid_argument` for a scheme no protocol owns
 */
export function dialClient(address: string, options: ClientOptions = {}): Client {
  return new Client(address, options, dialTransport(address, options));
}

/** The transport of one address under Node (sockets, `ws`, fetch), with no interceptors: what a balancer drives. */
export function dialTransport(address: string, options: ClientOptions = {}): CallTransport {
  const tls = options.tls;
  return transportFor(address, options, {
    dialStream: dialStream(tls),
    loadWebSocket: loadWebSocket(tls),
    fetch: tls === undefined ? globalThis.fetch : fetchWithTls(tls),
    dialDatagram,
    hmacSigner,
  });
}
