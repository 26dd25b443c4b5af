import { fromJsonText, toJsonText, utf8Text } from "../codec/json.js";
import { Code, codeToString } from "../core/code.js";
import { deadlineExceeded, deadlineFromTimeout, maxTimerMs } from "../core/deadline.js";
import type { Limits } from "../core/limits.js";
import { createMetadata, type Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { MethodDescriptor } from "../core/service.js";
import { ServerCallContext, type ServerDispatcher } from "../protocol/call-context.js";
import type { HttpRequest, HttpResponse } from "../protocol/http/exchange.js";
import { httpStatusOf, metadataHeaderPrefix, timeoutHeader } from "../protocol/http/status.js";
import { JsonRpcEndpoint, type JsonRpcServerOptions } from "../protocol/jsonrpc/server.js";
import { UnaryCall } from "../protocol/unary-call.js";

/** What the HTTP routes need from the server. */
export interface HttpRoutesOptions {
  readonly dispatcher: ServerDispatcher;
  readonly limits: Limits;
  readonly jsonRpc: JsonRpcServerOptions;
  /** Origins answered with CORS headers: a list, or "*" for any. */
  readonly corsOrigins: readonly string[] | "*" | undefined;
  /** True once the server is shutting down. */
  readonly draining: () => boolean;
}

const json = { "content-type": "application/json" };

function errorBody(err: RpcError): string {
  const body: { code: string; message: string; details?: readonly unknown[] } = {
    code: codeToString(err.code),
    message: err.rawMessage,
  };
  if (err.details.length > 0) body.details = err.details;
  try {
    return toJsonText(body);
  } catch {
    return JSON.stringify({ code: body.code, message: body.message });
  }
}

/** Sends `err` with the status its code maps to. */
function fail(
  res: HttpResponse,
  err: RpcError,
  headers: Record<string, string>,
  status = httpStatusOf(err.code),
): void {
  // After a 413 the rest of the body is not read, so the connection cannot carry another request.
  const close: Record<string, string> = status === 413 ? { connection: "close" } : {};
  res.head(status, { ...headers, ...json, ...metadataHeaders(err.metadata), ...close });
  res.end(errorBody(err));
}

function metadataHeaders(md: Readonly<Metadata> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (md !== undefined) for (const key in md) out[metadataHeaderPrefix + key] = md[key] as string;
  return out;
}

/** `application/json`, with or without parameters, or no type at all. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/json";
}

/** CORS response headers for this request's origin, if it is allowed. */
function corsHeaders(req: HttpRequest, allowed: HttpRoutesOptions["corsOrigins"]): Record<string, string> {
  const origin = req.headers.origin;
  if (allowed === undefined || origin === undefined) return {};
  if (allowed !== "*" && !allowed.includes(origin)) return {};
  return { "access-control-allow-origin": origin, vary: "origin", "access-control-expose-headers": "*" };
}

/**
 * farcall's HTTP routes (docs/protocols.md): `GET /healthz`, JSON-RPC 2.0 at `POST /` and
 * `POST /jsonrpc`, and `POST /<Service>/<method>` with JSON in and out (server streams as NDJSON).
 */
export function handleHttp(req: HttpRequest, res: HttpResponse, options: HttpRoutesOptions): void {
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
    const draining = options.draining();
    res.head(draining ? 503 : 200, { ...cors, ...json });
    res.end(draining ? '{"status":"draining"}' : '{"status":"serving"}');
    return;
  }
  const isJsonRpc = path === "/" || path === "/jsonrpc";
  const method = isJsonRpc ? undefined : options.dispatcher.resolve(decodePath(path));
  if (!isJsonRpc && method === undefined) {
    return fail(res, new RpcError(Code.Unimplemented, `no method at ${path}`), cors, 404);
  }
  if (req.method !== "POST") return methodNotAllowed(res, cors, "POST");
  if (!isJson(req.headers["content-type"])) {
    const err = new RpcError(
      Code.InvalidArgument,
      `content-type must be application/json, got ${req.headers["content-type"]}`,
    );
    return fail(res, err, cors, 415);
  }
  let deadline: number | undefined;
  const timeout = req.headers[timeoutHeader];
  if (timeout !== undefined) {
    const ms = /^\d{1,12}$/.test(timeout) ? Number(timeout) : Number.NaN;
    if (Number.isNaN(ms)) {
      return fail(
        res,
        new RpcError(Code.InvalidArgument, `${timeoutHeader} must be a whole number, got ${timeout}`),
        cors,
      );
    }
    deadline = deadlineFromTimeout(ms);
  }
  const metadata = createMetadata();
  for (const name in req.headers) {
    if (name.startsWith(metadataHeaderPrefix))
      metadata[name.slice(metadataHeaderPrefix.length)] = req.headers[name] as string;
  }
  if (req.headers.authorization !== undefined) metadata.authorization = req.headers.authorization;
  req.body(options.limits.maxMessageBytes).then(
    (body) => {
      const post: Post = { req, res, options, cors, metadata, deadline };
      if (method === undefined) jsonRpc(post, body);
      else call(post, method, body);
    },
    (err: unknown) => {
      const e = RpcError.from(err, Code.Internal);
      fail(res, e, cors, e.code === Code.ResourceExhausted ? 413 : undefined);
    },
  );
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path.slice(1));
  } catch {
    return path.slice(1);
  }
}

function methodNotAllowed(res: HttpResponse, cors: Record<string, string>, allow: string): void {
  res.head(405, { ...cors, ...json, allow });
  res.end(errorBody(new RpcError(Code.Unimplemented, `method not allowed; use ${allow}`)));
}

/** One POST whose headers were read: what every route below needs. */
interface Post {
  readonly req: HttpRequest;
  readonly res: HttpResponse;
  readonly options: HttpRoutesOptions;
  readonly cors: Record<string, string>;
  readonly metadata: Metadata;
  readonly deadline: number | undefined;
}

function jsonRpc({ req, res, options, cors, metadata, deadline }: Post, body: Uint8Array): void {
  const endpoint = new JsonRpcEndpoint(options.dispatcher, options.jsonRpc, req.peer);
  res.onAbort(() => endpoint.abortAll(new RpcError(Code.Canceled, "client went away")));
  const answer = (text: string | undefined) => {
    if (text === undefined) {
      res.head(204, cors);
      res.end();
    } else {
      res.head(200, { ...cors, ...json });
      res.end(text);
    }
  };
  const out = endpoint.handle(body, { metadata, deadline });
  if (out instanceof Promise) out.then(answer);
  else answer(out);
}

function call(post: Post, method: MethodDescriptor, body: Uint8Array): void {
  const { req, res, options, cors, metadata, deadline } = post;
  if (method.kind === "client_stream" || method.kind === "bidi_stream") {
    const why = `${method.path} takes a stream of requests, which HTTP JSON cannot carry; use tcp:// or ws://`;
    return fail(res, new RpcError(Code.Unimplemented, why), cors);
  }
  let input: unknown;
  try {
    input = body.length === 0 ? undefined : fromJsonText(utf8Text(body), options.limits.maxDepth);
  } catch (err) {
    return fail(res, RpcError.from(err, Code.InvalidArgument), cors);
  }
  if (method.kind === "server_stream") {
    void stream(post, method, input);
    return;
  }
  const ctx = new UnaryCall(method, metadata, req.peer, deadline);
  res.onAbort(() => ctx.abort(new RpcError(Code.Canceled, "client went away")));
  const ok = (output: unknown) => {
    if (method.kind === "oneway") return;
    let text: string;
    try {
      text = toJsonText(output === undefined ? null : output);
    } catch (err) {
      return fail(res, RpcError.from(err, Code.Internal), cors);
    }
    res.head(200, { ...cors, ...json, ...metadataHeaders(ctx.responseMetadataIfSet) });
    res.end(text);
  };
  const failed = (err: unknown) => {
    if (method.kind !== "oneway")
      fail(res, err as RpcError, { ...cors, ...metadataHeaders(ctx.responseMetadataIfSet) });
  };
  if (method.kind === "oneway") {
    res.head(202, cors);
    res.end();
  }
  let out: unknown;
  try {
    out = ctx.run(options.dispatcher, input);
  } catch (err) {
    return failed(err);
  }
  if (out instanceof Promise) out.then(ok, failed);
  else ok(out);
}

/** A server stream as NDJSON: `{"value":…}` lines, then `{"end":true}` or `{"error":…}`. */
async function stream(
  { req, res, options, cors, metadata, deadline }: Post,
  method: MethodDescriptor,
  input: unknown,
): Promise<void> {
  const ctx = new ServerCallContext(method, metadata, req.peer, deadline);
  let stop: ((err: RpcError) => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = (err) => {
      ctx.abort(err);
      reject(err);
    };
  });
  stopped.catch(() => {});
  res.onAbort(() => stop?.(new RpcError(Code.Canceled, "client went away")));
  const ms = ctx.remainingMs();
  const timer = ms <= maxTimerMs ? setTimeout(() => stop?.(deadlineExceeded()), ms) : undefined;
  let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  let started = false;
  // Metadata set so far goes in the headers; all of it again in the last line.
  const head = () =>
    res.head(200, { ...cors, "content-type": "application/x-ndjson", ...metadataHeaders(ctx.responseMetadataIfSet) });
  try {
    const output = await Promise.race([options.dispatcher.dispatch(method, input, ctx), stopped]);
    if (typeof output !== "object" || output === null) throw new TypeError("stream handler did not return an iterable");
    if (Symbol.asyncIterator in output) iterator = (output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    else if (Symbol.iterator in output) iterator = (output as Iterable<unknown>)[Symbol.iterator]();
    else throw new TypeError("stream handler did not return an iterable");
    for (;;) {
      const next = await Promise.race([iterator.next(), stopped]);
      if (next.done) break;
      const line = `{"value":${toJsonText(next.value === undefined ? null : next.value)}}\n`;
      if (!started) {
        started = true;
        head();
      }
      await Promise.race([res.write(line), stopped]);
    }
    if (!started) head();
    const md = ctx.responseMetadataIfSet;
    res.end(md === undefined ? '{"end":true}\n' : `{"end":true,"metadata":${toJsonText(md)}}\n`);
  } catch (err) {
    const e = options.dispatcher.toWire(err, method);
    if (!started) fail(res, e, cors);
    else res.end(`{"error":${errorBody(e)}}\n`);
    // Not awaited: a generator that ignores its signal must not hold the response open.
    Promise.resolve(iterator?.return?.()).catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}
