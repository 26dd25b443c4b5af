import { fromJsonText, toJsonText, utf8Text } from "../../codec/json.js";
import { Code } from "../../core/code.js";
import { deadlineExceeded, maxTimerMs } from "../../core/deadline.js";
import { RpcError } from "../../core/rpc-error.js";
import { inputFromJson, type MethodDescriptor, outputToJson } from "../../core/service.js";
import { admitLater, type IncomingCall, ServerCallContext } from "../call-context.js";
import type { HttpRoute } from "../protocol.js";
import { UnaryCall } from "../unary-call.js";
import { errorBody, fail, jsonType as json, metadataHeaders, type Post, readPost } from "./post.js";

/**
 * farcall's HTTP JSON route (docs/protocols.md): `POST /<Service>/<method>` with JSON in and out,
 * server streams as NDJSON. Paths that name no method are left to the other routes (404 at the end).
 */
export const httpJsonRoute: HttpRoute = (req, res, route) => {
  const path = req.url.split("?", 1)[0] ?? "/";
  const method = route.serve.dispatcher.resolve(decodePath(path));
  if (method === undefined) return false;
  readPost(req, res, route, (post) => call(post, method));
  return true;
};

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path.slice(1));
  } catch {
    return path.slice(1);
  }
}

function call(post: Post, method: MethodDescriptor): void {
  const { req, res, metadata, body } = post;
  const cors = post.route.cors;
  if (method.kind === "client_stream" || method.kind === "bidi_stream") {
    const why = `${method.path} takes a stream of requests, which HTTP JSON cannot carry; use tcp:// or ws://`;
    return fail(res, new RpcError(Code.Unimplemented, why), cors);
  }
  const guard = post.route.serve.dispatcher.guard;
  if (guard === undefined) return run(post, method, undefined, undefined);
  const incoming = { method, metadata, peer: req.peer, timeoutMs: post.timeoutMs, body };
  admitLater(guard, incoming).then(
    (principal) => run(post, method, principal, incoming),
    (err: unknown) => fail(res, RpcError.from(err, Code.Unauthenticated), cors),
  );
}

/** Decodes and runs a call that may run. */
function run(post: Post, method: MethodDescriptor, principal: unknown, incoming?: IncomingCall): void {
  const { req, res, metadata, deadline, body } = post;
  const cors = post.route.cors;
  const dispatcher = post.route.serve.dispatcher;
  let input: unknown;
  try {
    input = inputFromJson(
      method,
      body.length === 0 ? undefined : fromJsonText(utf8Text(body), post.route.serve.limits),
    );
  } catch (err) {
    return fail(res, RpcError.from(err, Code.InvalidArgument), cors);
  }
  if (method.kind === "server_stream") {
    void stream(post, method, input, principal);
    return;
  }
  const ctx = new UnaryCall(method, metadata, req.peer, deadline);
  ctx.principal = principal;
  res.onAbort(() => ctx.abort(new RpcError(Code.Canceled, "client went away")));
  const ok = (output: unknown) => {
    if (method.kind === "oneway") return;
    let text: string;
    try {
      const json = outputToJson(method, output);
      text = toJsonText(json === undefined ? null : json);
    } catch (err) {
      return fail(res, RpcError.from(err, Code.Internal), cors);
    }
    const sign = dispatcher.guard?.signReply;
    if (sign !== undefined && incoming !== undefined) {
      const entries = sign(incoming, ctx.responseMetadataIfSet, [new TextEncoder().encode(text)]);
      if (entries !== undefined) Object.assign(ctx.responseMetadata, entries);
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
    out = ctx.run(dispatcher, input);
  } catch (err) {
    return failed(err);
  }
  if (out instanceof Promise) out.then(ok, failed);
  else ok(out);
}

/** A server stream as NDJSON: `{"value":…}` lines, then `{"end":true}` or `{"error":…}`. */
async function stream(post: Post, method: MethodDescriptor, input: unknown, principal: unknown): Promise<void> {
  const { req, res, metadata, deadline } = post;
  const cors = post.route.cors;
  const dispatcher = post.route.serve.dispatcher;
  const ctx = new ServerCallContext(method, metadata, req.peer, deadline);
  ctx.principal = principal;
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
    const output = await Promise.race([dispatcher.dispatch(method, input, ctx), stopped]);
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
    const e = dispatcher.toWire(err, method);
    if (!started) fail(res, e, cors);
    else res.end(`{"error":${errorBody(e)}}\n`);
    // Not awaited: a generator that ignores its signal must not hold the response open.
    Promise.resolve(iterator?.return?.()).catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}
