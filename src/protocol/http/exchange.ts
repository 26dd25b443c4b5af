import type { Peer } from "../../core/interceptor.js";

/**
 * One HTTP request as the protocol layer sees it: the transport (node:http on the server) owns
 * the socket, parsing and keep-alive; this is all a handler needs.
 */
export interface HttpRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly peer: Peer;
  /**
   * Reads the whole body. Rejects with `resource_exhausted` as soon as it is known to exceed
   * `maxBytes` (from Content-Length, or while reading), without buffering the rest.
   */
  body(maxBytes: number): Promise<Uint8Array>;
  /**
   * The body as it arrives, chunk by chunk (binary, as sent); reading pauses while the consumer
   * does not ask for more, so memory stays at about one socket read. Use `body` or `chunks`, once.
   * Ends with an `RpcError` (`canceled`) if the peer goes away in the middle.
   */
  chunks(): AsyncIterable<Uint8Array>;
  /** The request's trailers (lower-case names), once the body has been read to its end; else empty. */
  trailers(): Readonly<Record<string, string | undefined>>;
}

/** The response side of one HTTP request. */
export interface HttpResponse {
  /**
   * Sends the status line and headers (once). A response that will end with trailers names them
   * in a `trailer` header and has no `content-length` (it goes chunked).
   */
  head(status: number, headers: Readonly<Record<string, string>>): void;
  /** Writes a piece of the body, text or bytes; the promise resolves when more may be written (back-pressure). */
  write(data: string | Uint8Array): Promise<void>;
  /**
   * Ends the response, with a last piece of body and, for a chunked response, trailers. A
   * `connection: close` header closes the connection after it.
   */
  end(data?: string | Uint8Array, trailers?: Readonly<Record<string, string>>): void;
  /** True once the peer went away or the response ended. */
  readonly done: boolean;
  /** Called once if the peer goes away before the response ended. */
  onAbort(cb: () => void): void;
}
