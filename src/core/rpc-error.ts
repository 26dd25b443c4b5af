import { Code, codeToString } from "./code.js";
import { createMetadata, type Metadata } from "./metadata.js";

const brand = Symbol.for("farcall.RpcError");

/** Options for {@link RpcError}. */
export interface RpcErrorOptions {
  /** Metadata sent with the error (trailers). */
  metadata?: Metadata;
  /** Structured details the peer may read, e.g. schema issues. Must be encodable by the codec. */
  details?: readonly unknown[];
  /** The underlying error; never sent to the peer. */
  cause?: unknown;
  /**
   * True when the call provably never reached a handler (it was not written, or the peer refused
   * it unprocessed), so sending it again cannot run it twice.
   */
  safeToRetry?: boolean;
}

/**
 * The one error type that crosses farcall's layers and the wire.
 * `message` puts the code first: `[unavailable] connection refused`; `rawMessage` is the text alone.
 * `instanceof RpcError` holds for errors made by another copy of farcall in the same process.
 */
export class RpcError extends Error {
  readonly code: Code;
  readonly rawMessage: string;
  readonly metadata: Metadata;
  readonly details: readonly unknown[];
  readonly safeToRetry: boolean;

  constructor(code: Code, message: string, options: RpcErrorOptions = {}) {
    super(`[${codeToString(code)}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RpcError";
    this.code = code;
    this.rawMessage = message;
    this.metadata = options.metadata ?? createMetadata();
    this.details = options.details ?? [];
    this.safeToRetry = options.safeToRetry ?? false;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /**
   * Converts anything thrown into an `RpcError`. An `RpcError` is returned as it is; an `AbortError`
   * becomes `Canceled` and a `TimeoutError` `DeadlineExceeded` (an abort reason that is itself an
   * `RpcError` is used as it is); anything else becomes `fallback` with the original as `cause`.
   */
  static from(reason: unknown, fallback: Code = Code.Unknown): RpcError {
    if (reason instanceof RpcError) return reason;
    if (reason instanceof Error) {
      if (reason.name === "AbortError") return new RpcError(Code.Canceled, "operation was aborted", { cause: reason });
      if (reason.name === "TimeoutError") {
        return new RpcError(Code.DeadlineExceeded, "deadline exceeded", { cause: reason });
      }
      return new RpcError(fallback, reason.message, { cause: reason });
    }
    return new RpcError(fallback, String(reason), { cause: reason });
  }
}
