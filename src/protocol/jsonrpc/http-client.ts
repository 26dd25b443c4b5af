import { fromJsonText, utf8Text } from "../../codec/json.js";
import { Code } from "../../core/code.js";
import type { RpcRequest, RpcResponse } from "../../core/interceptor.js";
import type { Limits } from "../../core/limits.js";
import { createMetadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { CallSigner } from "../hmac.js";
import { type HttpSigning, headersFor, metadataOf, readBody, requestSignal } from "../http/client.js";
import { codeOfHttpStatus } from "../http/status.js";
import type { CallTransport, Fetch } from "../protocol.js";
import { describeFetchError } from "../tls.js";
import { type JsonRpcDialect, replyOutcome, requestText } from "./client-session.js";

/** JSON-RPC 2.0 over HTTP POST: one request per call; oneway calls are notifications. */
export class JsonRpcHttpTransport implements CallTransport {
  private nextId = 1;

  constructor(
    private readonly url: string,
    private readonly limits: Limits,
    private readonly fetch: Fetch,
    private readonly methodName: ((m: RpcRequest["method"]) => string) | undefined,
    private readonly signer?: CallSigner,
  ) {}

  async call(req: RpcRequest): Promise<RpcResponse> {
    const kind = req.method.kind;
    if (kind !== "unary" && kind !== "oneway") {
      throw new RpcError(
        Code.Unimplemented,
        `${req.method.path}: JSON-RPC carries unary and oneway calls, not ${kind}`,
      );
    }
    const dialect: JsonRpcDialect = "2.0";
    const name = this.methodName?.(req.method) ?? `${req.method.service}.${req.method.name}`;
    const id = kind === "oneway" ? undefined : this.nextId++;
    const s = requestSignal(req);
    try {
      const text = requestText(dialect, name, req.input, id);
      const sign: HttpSigning | undefined =
        this.signer === undefined ? undefined : { signer: this.signer, method: "", body: text };
      const res = await this.fetch(this.url, {
        method: "POST",
        headers: headersFor(req, sign),
        body: text,
        signal: s.signal,
      }).catch((err: unknown) => {
        if (s.signal.aborted) throw s.reason();
        throw new RpcError(Code.Unavailable, `cannot reach ${this.url}: ${describeFetchError(err)}`, {
          safeToRetry: true,
          cause: err,
        });
      });
      const body = await readBody(res, this.limits.maxMessageBytes);
      if (id === undefined) return { output: undefined, metadata: createMetadata() };
      if (res.ok && sign?.entries !== undefined)
        this.signer?.verifyReply(sign.entries, metadataOf(res.headers), [body]);
      if (!res.ok && body.length === 0) throw new RpcError(codeOfHttpStatus(res.status), `HTTP ${res.status}`);
      const reply = fromJsonText(utf8Text(body), this.limits);
      if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
        throw new RpcError(Code.Internal, "server sent something other than a response object");
      }
      const outcome = replyOutcome(reply as Record<string, unknown>, dialect);
      if (outcome instanceof RpcError) throw outcome;
      return outcome;
    } catch (err) {
      if (s.signal.aborted) throw s.reason();
      throw RpcError.from(err, Code.Internal);
    } finally {
      s.done();
    }
  }

  ping(): Promise<number> {
    return Promise.reject(new RpcError(Code.Unimplemented, "JSON-RPC has no ping"));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
