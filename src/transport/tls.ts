import type { Socket } from "node:net";
import {
  type ConnectionOptions,
  createSecureContext,
  createServer as createTlsServer,
  type SecureContextOptions,
  type TLSSocket,
  type Server as TlsServer,
  connect as tlsConnect,
} from "node:tls";
import { Code } from "../core/code.js";
import type { Peer } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import type { ClientTlsOptions, ServerTlsOptions, TlsDial, TlsMaterial } from "../protocol/tls.js";
import { describeTlsError } from "../protocol/tls.js";
import { parseAddress } from "./address.js";
import { SocketStream } from "./socket-stream.js";

// TLS for every byte-stream protocol (docs/security.md §1): the server terminates TLS before it
// sniffs the protocol inside; clients dial with the options of `ClientTlsOptions`.

/** TLS material as node:tls takes it. */
export const tlsMaterial = (m: TlsMaterial | undefined): string | Buffer | (string | Buffer)[] | undefined => {
  if (m === undefined) return undefined;
  const one = (x: string | Uint8Array) => (typeof x === "string" ? x : Buffer.from(x.buffer, x.byteOffset, x.length));
  return typeof m === "string" || m instanceof Uint8Array ? one(m) : m.map(one);
};

/** The first byte of a TLS record carrying a handshake (ClientHello): RFC 8446 §5.1 ContentType 22. */
export const tlsHandshakeByte = 0x16;

/** A connection in its TLS handshake, as the server holds it to end it on `close()`. */
export interface Handshaking {
  destroy(): void;
  once(event: "close", listener: () => void): unknown;
}

const peerOf = (t: TLSSocket): Peer => ({
  transport: "tcp",
  address: t.remoteAddress ?? "unknown",
  port: t.remotePort,
});

/**
 * A server's TLS side: its settings (replaced by {@link reload}; connections already open keep
 * theirs) and one node `tls.Server` per listener, which never listens itself: it runs the
 * handshake on sockets the listener accepted and sniffed, as `NodeHttpCarrier` does for HTTP.
 */
export class TlsTerminator {
  private options!: ServerTlsOptions;
  private readonly servers: TlsServer[] = [];

  constructor(
    options: ServerTlsOptions,
    private readonly handshakeTimeoutMs: number,
  ) {
    this.reload(options);
  }

  /** Whether plaintext clients are served too. */
  get plaintext(): boolean {
    return this.options.plaintext !== false;
  }

  /**
   * New certificates, keys and client CAs for connections from now on.
   * @throws TypeError when the PEM does not parse, the key does not match, or `ca` is missing for
   *   client certificates; the old settings stay in force.
   */
  reload(options: ServerTlsOptions): void {
    const mode = options.clientCertificates ?? "none";
    if (mode !== "none" && options.ca === undefined) {
      throw new TypeError(`tls: clientCertificates "${mode}" needs ca (the CAs client certificates chain to)`);
    }
    const context = {
      cert: tlsMaterial(options.cert),
      key: tlsMaterial(options.key),
      ca: tlsMaterial(options.ca),
      minVersion: options.minVersion ?? "TLSv1.2",
    };
    try {
      createSecureContext(context);
    } catch (err) {
      throw new TypeError(`tls: cannot use the certificate or key: ${(err as Error).message}`, { cause: err });
    }
    this.options = options;
    for (const server of this.servers) this.configure(server, context);
  }

  private configure(server: TlsServer, context: SecureContextOptions): void {
    const mode = this.options.clientCertificates ?? "none";
    server.setSecureContext(context);
    // Read by node for every connection it takes from now on.
    Object.assign(server, { requestCert: mode !== "none" });
  }

  /**
   * A handshaker for one listener, offering the ALPN names of its protocols: the function it
   * returns runs the server handshake on an accepted socket (its sniffed bytes put back); `secure`
   * gets the decrypted stream, `failed` why it failed (within the handshake timeout, as
   * `unauthenticated`).
   */
  handshaker(
    alpn: readonly string[],
    secure: (stream: SocketStream, raw: Handshaking | undefined) => void,
    failed: (error: RpcError, raw: Handshaking | undefined, peer: Peer) => void,
    writeStallTimeoutMs: number,
  ): (stream: SocketStream, seen: Uint8Array) => Handshaking {
    const mode = this.options.clientCertificates ?? "none";
    const server = createTlsServer({
      cert: tlsMaterial(this.options.cert),
      key: tlsMaterial(this.options.key),
      ca: tlsMaterial(this.options.ca),
      minVersion: this.options.minVersion ?? "TLSv1.2",
      requestCert: mode !== "none",
      // Checked in `secureConnection` instead, so a rejected certificate is reported with its reason.
      rejectUnauthorized: false,
      ALPNProtocols: [...alpn],
      handshakeTimeout: this.handshakeTimeoutMs,
    });
    // The raw socket under a TLS one, to tell the listener which of its connections is done.
    const parent = (t: TLSSocket) => (t as unknown as { _parent?: Socket })._parent;
    server.on("secureConnection", (t: TLSSocket) => {
      if (this.options.clientCertificates === "require" && !t.authorized) {
        const why =
          t.getPeerX509Certificate() === undefined
            ? "no client certificate was sent"
            : `the client certificate is not accepted: ${describeTlsError({ code: t.authorizationError })}`;
        failed(new RpcError(Code.Unauthenticated, `TLS handshake failed: ${why}`), parent(t), peerOf(t));
        t.destroy();
        return;
      }
      secure(new SocketStream(t, undefined, writeStallTimeoutMs), parent(t));
    });
    server.on("tlsClientError", (err: NodeJS.ErrnoException, t: TLSSocket) => {
      const why =
        err.code === "ERR_TLS_HANDSHAKE_TIMEOUT"
          ? `TLS handshake not done within ${this.handshakeTimeoutMs} ms`
          : `TLS handshake failed: ${describeTlsError(err)}`;
      failed(new RpcError(Code.Unauthenticated, why, { cause: err }), parent(t), peerOf(t));
      t.destroy();
    });
    this.servers.push(server);
    return (stream, seen) => {
      const socket = stream.release(seen);
      server.emit("connection", socket);
      return socket;
    };
  }
}

/**
 * Opens a TLS connection to `tcp://host:port` and completes the handshake, verifying the server's
 * certificate against `options.ca` (or the system's CAs) and its name. Fails with `unavailable`
 * (safe to retry: nothing was sent) saying which TLS step failed and why.
 */
export function connectTls(
  address: string,
  timeoutMs: number,
  options: ClientTlsOptions,
  dial: TlsDial,
): Promise<SocketStream> {
  const target = parseAddress(address);
  if (target.kind !== "tcp")
    return Promise.reject(new RpcError(Code.InvalidArgument, `TLS needs a host and port: ${address}`));
  // SNI carries host names only (RFC 6066 §3); the certificate is checked against the name or IP either way.
  const servername = options.servername ?? (/^[\d.]+$|:/.test(target.host) ? undefined : target.host);
  const connectOptions: ConnectionOptions = {
    host: target.host,
    port: target.port,
    servername,
    ca: tlsMaterial(options.ca),
    cert: tlsMaterial(options.cert),
    key: tlsMaterial(options.key),
    minVersion: options.minVersion ?? "TLSv1.2",
    ALPNProtocols: [...dial.alpn],
  };
  return new Promise((resolve, reject) => {
    let socket: TLSSocket | undefined;
    let connected = false;
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket?.destroy();
      const why = connected ? `TLS handshake failed: ${describeTlsError(err)}` : err.message;
      reject(new RpcError(Code.Unavailable, `cannot connect to ${address}: ${why}`, { cause: err, safeToRetry: true }));
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            connected ? `TLS handshake not done within ${timeoutMs} ms` : `connect timed out after ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    let tls: TLSSocket;
    try {
      tls = tlsConnect(connectOptions);
    } catch (err) {
      fail(err as Error);
      return;
    }
    socket = tls;
    tls.once("connect", () => {
      connected = true;
    });
    tls.once("error", fail);
    tls.once("secureConnect", () => {
      clearTimeout(timer);
      tls.off("error", fail);
      resolve(new SocketStream(tls));
    });
  });
}
