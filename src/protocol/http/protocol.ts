import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { HttpCarrier, HttpHandlers, HttpRouteContext, Protocol, ServeContext } from "../protocol.js";
import { webSocketPieceBytes } from "../websocket-stream.js";
import { HttpJsonTransport } from "./client.js";
import type { HttpRequest, HttpResponse } from "./exchange.js";
import { fail, jsonType, methodNotAllowed } from "./post.js";
import { httpJsonRoute } from "./server.js";

/** Options of the HTTP protocol. */
export interface HttpProtocolOptions {
  /** Origins whose browsers may call over HTTP (CORS): a list, or "*". Default: none. */
  readonly corsOrigins?: readonly string[] | "*" | undefined;
}

/** CORS response headers for this request's origin, if it is allowed. */
function corsHeaders(req: HttpRequest, allowed: HttpProtocolOptions["corsOrigins"]): Record<string, string> {
  const origin = req.headers.origin;
  if (allowed === undefined || origin === undefined) return {};
  if (allowed !== "*" && !allowed.includes(origin)) return {};
  return { "access-control-allow-origin": origin, vary: "origin", "access-control-expose-headers": "*" };
}

/**
 * What one listener's HTTP carrier does with a request: CORS preflights, `GET /healthz`, then the
 * routes of the listener's protocols in order (JSON-RPC's `POST /`, HTTP JSON's
 * `POST /<Service>/<method>`, …), and 404 when none takes it.
 */
function handlersFor(ctx: ServeContext, options: HttpProtocolOptions): HttpHandlers {
  return {
    request(req: HttpRequest, res: HttpResponse) {
      const cors = corsHeaders(req, options.corsOrigins);
      const path = req.url.split("?", 1)[0] ?? "/";
      if (req.method === "OPTIONS" && cors["access-control-allow-origin"] !== undefined) {
        res.head(204, {
          ...cors,
          "access-control-allow-methods": "POST, GET",
          "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "content-type",
          "access-control-max-age": "600",
        });
        res.end();
        return;
      }
      if (path === "/healthz") {
        if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, cors, "GET");
        res.head(ctx.draining ? 503 : 200, { ...cors, ...jsonType });
        res.end(ctx.draining ? '{"status":"draining"}' : '{"status":"serving"}');
        return;
      }
      const route: HttpRouteContext = { serve: ctx, cors };
      for (const p of ctx.protocols) if (p.http?.(req, res, route)) return;
      fail(res, new RpcError(Code.Unimplemented, `no method at ${path}`), cors, 404);
    },
    websocket(ws, peer) {
      const service = ctx.protocols.find((p) => p.webSocket?.subprotocols.includes(ws.protocol))?.webSocket;
      if (service === undefined) ws.close(1002, `subprotocol ${ws.protocol} is not served here`);
      else service.serve(ws, peer, ctx);
    },
  };
}

/**
 * HTTP/1.1 (docs/protocols.md): recognised by a capital letter as the first byte; the runtime's
 * HTTP server parses it, and the listener's protocols answer its routes and WebSocket upgrades.
 * Its own route is HTTP JSON; its client (`http://`, `https://`) calls HTTP JSON with fetch.
 */
export function httpProtocol(options: HttpProtocolOptions = {}): Protocol {
  // One carrier per listener: it owns node's HTTP server and the keep-alive connections on it.
  const carriers = new WeakMap<ServeContext, HttpCarrier>();
  const carrierFor = (ctx: ServeContext): HttpCarrier => {
    const carrier = carriers.get(ctx);
    if (carrier !== undefined) return carrier;
    const make = ctx.platform.httpCarrier;
    if (make === undefined) throw new RpcError(Code.Unimplemented, "no HTTP server on this platform");
    const subprotocols = ctx.protocols.flatMap((p) => p.webSocket?.subprotocols ?? []).filter((s) => s !== "");
    const made = make(handlersFor(ctx, options), {
      headersTimeoutMs: ctx.handshakeTimeoutMs,
      // A whole request (head and body) has twice the message timeout, a minute by default: a body
      // of the default 4 MiB maxMessageBytes needs only ~70 KB/s, and a client that trickles one
      // cannot hold the connection and its buffer longer.
      requestTimeoutMs: 2 * ctx.messageTimeoutMs,
      // JSON-RPC messages are checked against maxMessageBytes by the session itself; farcall
      // framing arrives in pieces of at most webSocketPieceBytes, whatever the frames' size.
      maxWebSocketMessageBytes: Math.max(ctx.limits.maxMessageBytes, webSocketPieceBytes),
      webSocketProtocols: subprotocols,
      writeStallTimeoutMs: ctx.writeStallTimeoutMs,
    });
    carriers.set(ctx, made);
    const untrack = ctx.track({
      goAway: () =>
        void made.drain().then(() => {
          made.destroy();
          untrack();
        }),
      forceClose: () => {
        made.destroy();
        untrack();
      },
    });
    return made;
  };
  return {
    name: "http",
    alpn: ["http/1.1"],
    sniff: (bytes) => ((bytes[0] as number) >= 0x41 && (bytes[0] as number) <= 0x5a ? "yes" : "no"),
    serve(conn, ctx) {
      // node's header timeout takes over from the handshake timer.
      conn.handshakeDone();
      carrierFor(ctx).take(conn.stream, conn.first);
    },
    http: httpJsonRoute,
    schemes: {
      http: (ctx) => new HttpJsonTransport(ctx.address.replace(/\/+$/, ""), ctx.limits, ctx.fetch(), ctx.signer),
      https: (ctx) => new HttpJsonTransport(ctx.address.replace(/\/+$/, ""), ctx.limits, ctx.fetch(), ctx.signer),
    },
  };
}
