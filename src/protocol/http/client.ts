import { fromJsonText, toJsonText, utf8Text } from "../../codec/json.js";
import { concatBytes } from "../../core/bytes.js";
import { Code, codeFromString } from "../../core/code.js";
import { CallWatch, remainingMs } from "../../core/deadline.js";
import type { RpcRequest, RpcResponse } from "../../core/interceptor.js";
import type { DecodeLimits, Limits } from "../../core/limits.js";
import { createMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { CallSigner } from "../hmac.js";
import { JsonSplitter } from "../json/json-splitter.js";
import type { CallTransport, Fetch } from "../protocol.js";
import { describeFetchError } from "../tls.js";
import { codeOfHttpStatus, metadataHeaderPrefix, timeoutHeader } from "./status.js";

/**
 * An abort signal for one request: the caller's signal and the deadline, whichever comes first;
 * `reason` is why it aborted, `done` stops watching.
 */
export class RequestWatch extends CallWatch {
  private readonly controller = new AbortController();
  private why: RpcError | undefined;
  readonly signal: AbortSignal = this.controller.signal;

  giveUp(reason: RpcError): void {
    this.why ??= reason;
    this.controller.abort(reason);
  }

  readonly reason = (): RpcError => this.why ?? new RpcError(Code.Unavailable, "request failed", { safeToRetry: true });
  readonly done = (): void => this.stop();
}

/** Watches `req` as one request: see {@link RequestWatch}. */
export function requestSignal(req: RpcRequest): RequestWatch {
  const watch = new RequestWatch();
  watch.start(req);
  return watch;
}

/** Reads a body up to `maxBytes`; beyond it fails with `resource_exhausted` without reading the rest. */
export async function readBody(res: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: number | string) =>
    new RpcError(Code.ResourceExhausted, `reply size ${size} exceeds maxMessageBytes ${maxBytes}`);
  const declared = Number(res.headers.get("content-length"));
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(declared);
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`over ${length}`);
    }
    parts.push(value);
  }
  return concatBytes(parts);
}

/** A call to sign as its headers are made; `entries` gets the signature, to check the reply with. */
export interface HttpSigning {
  readonly signer: CallSigner;
  readonly method: string;
  readonly body: string;
  entries?: Record<string, string>;
}

export function headersFor(req: RpcRequest, signed?: HttpSigning): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const ms = remainingMs(req.deadline);
  const timeoutMs = ms === Number.POSITIVE_INFINITY ? undefined : Math.max(0, Math.ceil(ms));
  if (timeoutMs !== undefined) headers[timeoutHeader] = String(timeoutMs);
  let metadata: Readonly<Metadata> = req.metadata;
  if (signed !== undefined) {
    const body = [new TextEncoder().encode(signed.body)];
    const signature = signed.signer.sign({ method: signed.method, timeoutMs, metadata, body });
    signed.entries = signature;
    metadata = Object.assign(createMetadata(), metadata, signature);
  }
  for (const key in metadata) {
    headers[key === "authorization" ? key : metadataHeaderPrefix + key] = metadata[key] as string;
  }
  return headers;
}

export function metadataOf(headers: Headers): Metadata {
  const md = createMetadata();
  headers.forEach((value, name) => {
    if (name.startsWith(metadataHeaderPrefix)) md[name.slice(metadataHeaderPrefix.length)] = value;
  });
  return md;
}

/** The error an HTTP error reply stands for. */
function httpError(status: number, body: Uint8Array, limits: DecodeLimits): RpcError {
  let parsed: unknown;
  try {
    parsed = fromJsonText(utf8Text(body), limits);
  } catch {
    // not farcall's error body: fall back on the status
  }
  return errorOf(parsed) ?? new RpcError(codeOfHttpStatus(status), `HTTP ${status}`);
}

/** The error a farcall error body (`{"code":…,"message":…}`) stands for, if `value` is one. */
function errorOf(value: unknown): RpcError | undefined {
  const e = value as { code?: unknown; message?: unknown; details?: unknown } | null | undefined;
  if (typeof e?.code !== "string" || typeof e.message !== "string") return undefined;
  const details = Array.isArray(e.details) ? e.details : undefined;
  return new RpcError(codeFromString(e.code), e.message, details ? { details } : {});
}

/**
 * Lines of an NDJSON reply as stream items; ends at `{"end":true}`, whose `metadata` (set by the
 * handler after the headers went out) joins `trailers`; throws at `{"error":…}` or a cut body.
 */
async function* ndjsonItems(
  res: Response,
  limits: Limits,
  trailers: Metadata,
  done: () => void,
  reason: () => RpcError,
) {
  const body = res.body;
  if (body === null) throw new RpcError(Code.Internal, "stream reply without a body");
  const reader = body.getReader();
  const splitter = new JsonSplitter(limits);
  try {
    for (;;) {
      const chunk = await reader.read().catch(() => {
        throw reason();
      });
      if (chunk.done) throw new RpcError(Code.Unavailable, "stream reply cut short");
      for (const text of splitter.push(chunk.value)) {
        const line = fromJsonText(utf8Text(text), limits) as {
          value?: unknown;
          end?: unknown;
          metadata?: unknown;
          error?: unknown;
        };
        if (line.end === true) {
          if (typeof line.metadata === "object" && line.metadata !== null)
            Object.assign(trailers, createMetadata(line.metadata as Record<string, string>));
          return;
        }
        if (line.error !== undefined)
          throw errorOf(line.error) ?? new RpcError(Code.Unknown, "stream ended with a malformed error");
        yield line.value;
      }
      if (splitter.error !== undefined) throw splitter.error;
    }
  } finally {
    done();
    reader.cancel().catch(() => {});
  }
}

/**
 * farcall's HTTP JSON protocol as a client: `POST <base>/<Service>/<method>`; unary and oneway
 * calls, and server streams read as NDJSON. Stateless, so `close()` has nothing to wait for.
 */
export class HttpJsonTransport implements CallTransport {
  constructor(
    private readonly base: string,
    private readonly limits: Limits,
    private readonly fetch: Fetch,
    private readonly signer?: CallSigner,
  ) {}

  async call(req: RpcRequest): Promise<RpcResponse> {
    const kind = req.method.kind;
    if (kind === "client_stream" || kind === "bidi_stream") {
      throw new RpcError(
        Code.Unimplemented,
        `${req.method.path}: HTTP JSON cannot carry a stream of requests; use ws://`,
      );
    }
    const s = requestSignal(req);
    let streaming = false;
    let sign: HttpSigning | undefined;
    try {
      let res: Response;
      try {
        const body = req.input === undefined ? "" : toJsonText(req.input);
        sign = this.signer === undefined ? undefined : { signer: this.signer, method: req.method.path, body };
        res = await this.fetch(`${this.base}/${req.method.path}`, {
          method: "POST",
          headers: headersFor(req, sign),
          body,
          signal: s.signal,
        });
      } catch (err) {
        if (s.signal.aborted) throw s.reason();
        throw new RpcError(Code.Unavailable, `cannot reach ${this.base}: ${describeFetchError(err)}`, {
          safeToRetry: true,
          cause: err,
        });
      }
      if (!res.ok) throw httpError(res.status, await readBody(res, this.limits.maxMessageBytes), this.limits);
      const metadata = metadataOf(res.headers);
      if (kind === "oneway") return { output: undefined, metadata };
      if (kind === "server_stream") {
        streaming = true;
        return { output: ndjsonItems(res, this.limits, metadata, s.done, s.reason), metadata };
      }
      const body = await readBody(res, this.limits.maxMessageBytes);
      if (sign?.entries !== undefined) this.signer?.verifyReply(sign.entries, metadata, [body]);
      return { output: fromJsonText(utf8Text(body), this.limits), metadata };
    } catch (err) {
      if (s.signal.aborted) throw s.reason();
      throw err;
    } finally {
      if (!streaming) s.done();
    }
  }

  ping(): Promise<number> {
    return Promise.reject(new RpcError(Code.Unimplemented, "HTTP JSON has no ping"));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
