import { toJsonText } from "../../codec/json.js";
import { Code, codeToString } from "../../core/code.js";
import { deadlineFromTimeout } from "../../core/deadline.js";
import { createMetadata, idempotencyKeyHeader, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { HttpRouteContext } from "../protocol.js";
import type { HttpRequest, HttpResponse } from "./exchange.js";
import { httpStatusOf, metadataHeaderPrefix, timeoutHeader } from "./status.js";

// What every POST route shares: the error body, the headers that carry deadline and metadata,
// and reading the body within the message limit (docs/protocols.md, HTTP/1.1 JSON).

export const jsonType = { "content-type": "application/json" };

/** farcall's JSON error body: `{"code":"invalid_argument","message":"…","details":[…]}`. */
export function errorBody(err: RpcError): string {
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

/** Metadata as `farcall-md-<key>` headers. */
export function metadataHeaders(md: Readonly<Metadata> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (md !== undefined) for (const key in md) out[metadataHeaderPrefix + key] = md[key] as string;
  return out;
}

/** Sends `err` with the status its code maps to. */
export function fail(
  res: HttpResponse,
  err: RpcError,
  headers: Readonly<Record<string, string>>,
  status = httpStatusOf(err.code),
): void {
  // After a 413 the rest of the body is not read, so the connection cannot carry another request.
  const close: Record<string, string> = status === 413 ? { connection: "close" } : {};
  // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
  const challenge: Record<string, string> = status === 401 ? { "www-authenticate": 'Bearer realm="farcall"' } : {};
  res.head(status, { ...headers, ...jsonType, ...metadataHeaders(err.metadata), ...close, ...challenge });
  res.end(errorBody(err));
}

/** Answers 405 with the one method allowed. */
export function methodNotAllowed(res: HttpResponse, cors: Readonly<Record<string, string>>, allow: string): void {
  res.head(405, { ...cors, ...jsonType, allow });
  res.end(errorBody(new RpcError(Code.Unimplemented, `method not allowed; use ${allow}`)));
}

/** `application/json`, with or without parameters, or no type at all. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/json";
}

/** A POST whose headers were read and whose body arrived: what a route needs to make the call. */
export interface Post {
  readonly req: HttpRequest;
  readonly res: HttpResponse;
  readonly route: HttpRouteContext;
  readonly metadata: Metadata;
  readonly deadline: number | undefined;
  /** The timeout the client sent (`farcall-timeout-ms`). */
  readonly timeoutMs: number | undefined;
  readonly body: Uint8Array;
}

/**
 * Checks a POST with a JSON body (method, content type, `farcall-timeout-ms`, metadata headers),
 * reads its body within `maxMessageBytes`, and hands it to `run`; answers the errors itself.
 */
export function readPost(
  req: HttpRequest,
  res: HttpResponse,
  route: HttpRouteContext,
  run: (post: Post) => void,
): void {
  const cors = route.cors;
  if (req.method !== "POST") return methodNotAllowed(res, cors, "POST");
  if (!isJson(req.headers["content-type"])) {
    const err = new RpcError(
      Code.InvalidArgument,
      `content-type must be application/json, got ${req.headers["content-type"]}`,
    );
    return fail(res, err, cors, 415);
  }
  let deadline: number | undefined;
  let timeoutMs: number | undefined;
  const timeout = req.headers[timeoutHeader];
  if (timeout !== undefined) {
    const ms = /^\d{1,12}$/.test(timeout) ? Number(timeout) : Number.NaN;
    if (Number.isNaN(ms)) {
      const err = new RpcError(Code.InvalidArgument, `${timeoutHeader} must be a whole number, got ${timeout}`);
      return fail(res, err, cors);
    }
    deadline = deadlineFromTimeout(ms);
    timeoutMs = ms;
  }
  const metadata = createMetadata();
  for (const name in req.headers) {
    if (name.startsWith(metadataHeaderPrefix))
      metadata[name.slice(metadataHeaderPrefix.length)] = req.headers[name] as string;
  }
  if (req.headers.authorization !== undefined) metadata.authorization = req.headers.authorization;
  // The standard header too (draft-ietf-httpapi-idempotency-key-header), as curl users send it.
  const key = req.headers[idempotencyKeyHeader];
  if (typeof key === "string") metadata[idempotencyKeyHeader] = key;
  req.body(route.serve.limits.maxMessageBytes).then(
    (body) => run({ req, res, route, metadata, deadline, timeoutMs, body }),
    (err: unknown) => {
      const e = RpcError.from(err, Code.Internal);
      fail(res, e, cors, e.code === Code.ResourceExhausted ? 413 : undefined);
    },
  );
}
