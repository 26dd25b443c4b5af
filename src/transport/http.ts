import { createServer, type IncomingMessage, type Server as NodeHttpServer, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { WebSocketServer } from "ws";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { HttpResponse } from "../protocol/http/exchange.js";
import type { AttachableStream, HttpCarrier, HttpCarrierOptions, HttpHandlers } from "../protocol/protocol.js";
import type { WebSocketLike } from "../protocol/websocket-like.js";
import { peerOfSocket, SocketStream } from "./socket-stream.js";

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBytes) {
    return Promise.reject(
      new RpcError(Code.ResourceExhausted, `body size ${declared} exceeds maxMessageBytes ${maxBytes}`),
    );
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        req.off("data", onData);
        req.pause();
        reject(new RpcError(Code.ResourceExhausted, `body size exceeds maxMessageBytes ${maxBytes}`));
        return;
      }
      parts.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length)));
    req.on("error", (err) => reject(RpcError.from(err, Code.Canceled)));
  });
}

/** The body of `req` chunk by chunk, with back-pressure (node's async iterator pauses the socket). */
async function* bodyChunks(req: IncomingMessage): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of req) {
      const b = chunk as Buffer;
      yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
  } catch (err) {
    throw new RpcError(Code.Canceled, "request body cut short: the client went away", { cause: err });
  }
  if (!req.complete) throw new RpcError(Code.Canceled, "request body cut short: the client went away");
}

class NodeHttpResponse implements HttpResponse {
  private aborted = false;
  private abortCb: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly writeStallTimeoutMs: number,
  ) {
    res.on("close", () => {
      if (res.writableFinished) return;
      this.aborted = true;
      this.abortCb?.();
    });
  }

  get done(): boolean {
    return this.aborted || this.res.writableEnded;
  }

  head(status: number, headers: Readonly<Record<string, string>>): void {
    if (!this.res.headersSent) this.res.writeHead(status, headers);
  }

  write(data: string | Uint8Array): Promise<void> {
    if (this.done) return Promise.resolve();
    if (this.res.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      // A client that stops reading a long stream would hold it, and its buffer, forever.
      const stall =
        this.writeStallTimeoutMs > 0 ? setTimeout(() => this.res.destroy(), this.writeStallTimeoutMs) : undefined;
      const go = () => {
        clearTimeout(stall);
        this.res.off("drain", go);
        this.res.off("close", go);
        resolve();
      };
      this.res.on("drain", go);
      this.res.on("close", go);
    });
  }

  end(data?: string | Uint8Array, trailers?: Readonly<Record<string, string>>): void {
    if (this.done) return;
    if (trailers !== undefined) this.res.addTrailers(trailers);
    this.res.end(data);
  }

  onAbort(cb: () => void): void {
    this.abortCb = cb;
    if (this.aborted) cb();
  }
}

/**
 * HTTP/1.1 on sockets another listener accepted and sniffed: node's HTTP parser, keep-alive and
 * timeouts, WebSocket upgrades through `ws`, and CONNECT. The only code that touches node:http.
 */
export class NodeHttpCarrier implements HttpCarrier {
  private readonly http: NodeHttpServer;
  /** Loaded at the first upgrade: `ws` adds ~7 MiB to a process's RSS. */
  private wss: Promise<WebSocketServer> | undefined;
  private readonly sockets = new Set<Socket>();
  private draining = false;
  private idleWaiter: (() => void) | undefined;

  constructor(handlers: HttpHandlers, options: HttpCarrierOptions) {
    // Node checks header timeouts only every connectionsCheckingInterval (30 s by default); a
    // quarter of the timeout closes a stalled head within 1.25× the timeout, bounded to 25 ms–30 s.
    // Node requires the request timeout to be at least the headers timeout. Replies, however long,
    // are not timed.
    const requestTimeout = Math.max(options.requestTimeoutMs, options.headersTimeoutMs);
    const checkMs = Math.max(25, Math.min(30_000, Math.floor(Math.min(options.headersTimeoutMs, requestTimeout) / 4)));
    this.http = createServer(
      { headersTimeout: options.headersTimeoutMs, requestTimeout, connectionsCheckingInterval: checkMs },
      (req, res) => {
        if (this.draining) res.shouldKeepAlive = false;
        const socket = req.socket;
        handlers.request(
          {
            method: req.method ?? "GET",
            url: req.url ?? "/",
            headers: headersOf(req),
            peer: peerOfSocket(socket, "http"),
            body: (maxBytes) => readBody(req, maxBytes),
            chunks: () => bodyChunks(req),
            trailers: () => req.trailers,
          },
          new NodeHttpResponse(res, options.writeStallTimeoutMs),
        );
      },
    );
    this.http.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && !socket.writableEnded) {
        const status =
          err.code === "HPE_HEADER_OVERFLOW"
            ? "431 Request Header Fields Too Large"
            : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
              ? "408 Request Timeout"
              : "400 Bad Request";
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
    // Node sets up its header/request timeout checks when a server starts listening; this one
    // never listens (its sockets come from the sniffing listener), so it is told it did.
    this.http.emit("listening");
    const offered = options.webSocketProtocols;
    const webSocketServer = () =>
      import("ws").then(
        ({ WebSocketServer }) =>
          new WebSocketServer({
            noServer: true,
            maxPayload: options.maxWebSocketMessageBytes,
            handleProtocols: (asked) => offered.find((p) => asked.has(p)) ?? false,
          }),
      );
    this.http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (req.headers.upgrade?.toLowerCase() !== "websocket" || this.draining) {
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const peer = peerOfSocket(socket, "websocket");
      // A WebSocket client sends nothing before the 101 answer, so no byte is lost while `ws` loads.
      this.wss ??= webSocketServer();
      this.wss.then(
        (wss) => wss.handleUpgrade(req, socket, head, (ws) => handlers.websocket(ws as unknown as WebSocketLike, peer)),
        () => socket.destroy(),
      );
    });
    this.http.on("connect", (_req: IncomingMessage, socket: Socket) => {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
  }

  /** Takes over a sniffed connection; `unread` are the bytes read while sniffing. */
  take(stream: AttachableStream, unread: Uint8Array): void {
    if (!(stream instanceof SocketStream)) throw new TypeError("HTTP is served on sockets only");
    const socket = stream.release(unread);
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.idleWaiter?.();
    });
    this.http.emit("connection", socket);
    socket.resume();
  }

  /**
   * Stops keep-alive and upgrades, closes idle connections, and resolves once every connection
   * has closed.
   */
  drain(): Promise<void> {
    this.draining = true;
    this.http.closeIdleConnections();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiter = resolve;
    });
  }

  /** Closes every connection at once and stops node's timeout checks. */
  destroy(): void {
    for (const socket of this.sockets) socket.destroy();
    this.http.close(() => {});
  }
}
