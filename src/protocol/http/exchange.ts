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
}

/** The response side of one HTTP request. */
export interface HttpResponse {
  /** Sends the status line and headers (once). */
  head(status: number, headers: Readonly<Record<string, string>>): void;
  /** Writes a piece of the body; the promise resolves when more may be written (back-pressure). */
  write(text: string): Promise<void>;
  /** Ends the response, with a last piece of body. A `connection: close` header closes the connection after it. */
  end(text?: string): void;
  /** True once the peer went away or the response ended. */
  readonly done: boolean;
  /** Called once if the peer goes away before the response ended. */
  onAbort(cb: () => void): void;
}
