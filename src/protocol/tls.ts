// TLS settings as servers and clients take them (docs/security.md §1). Plain data: the Node
// transport (transport/tls.ts) applies them; browsers use their own TLS and trust store.

/** PEM text or DER/PEM bytes, or several of them. */
export type TlsMaterial = string | Uint8Array | readonly (string | Uint8Array)[];

/** A server's TLS settings. */
export interface ServerTlsOptions {
  /** The server's certificate chain (PEM), leaf first. */
  cert: TlsMaterial;
  /** Its private key (PEM). */
  key: TlsMaterial;
  /** CAs that client certificates must chain to (PEM); needed unless `clientCertificates` is `none`. */
  ca?: TlsMaterial;
  /**
   * `none` (default): no client certificate is asked for. `request`: asked for and verified when
   * given (`ctx.peer.tls.authorized` says whether it was); a missing or unverified one is let in.
   * `require`: mTLS, a connection without a certificate that chains to `ca` fails its handshake.
   */
  clientCertificates?: "none" | "request" | "require";
  /** Oldest TLS version accepted. Default and floor `TLSv1.2`. */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** Also serve plaintext clients on the same port (sniffed). Default true; `false` is TLS only. */
  plaintext?: boolean;
}

/** A client's TLS settings (`tls://`, `https://`, `wss://`, `jsonrpc+tls://` …). */
export interface ClientTlsOptions {
  /** CAs to trust instead of the system's (PEM). */
  ca?: TlsMaterial;
  /** A client certificate chain for mTLS (PEM). */
  cert?: TlsMaterial;
  /** Its private key (PEM). */
  key?: TlsMaterial;
  /** The name the server's certificate must carry; default the address's host. */
  servername?: string;
  /** Oldest TLS version accepted. Default and floor `TLSv1.2`. */
  minVersion?: "TLSv1.2" | "TLSv1.3";
}

/** What a dialler adds to the client's TLS settings: the ALPN names of its protocol. */
export interface TlsDial {
  readonly alpn: readonly string[];
}

/** OpenSSL's and node's codes for the ways a handshake fails, in words. */
const reasons: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate is signed by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT: "the certificate is signed by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate is signed by an unknown CA",
  SELF_SIGNED_CERT_IN_CHAIN: "the certificate chains to an unknown (self-signed) CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate is self-signed and not trusted",
  CERT_HAS_EXPIRED: "the certificate has expired",
  CERT_NOT_YET_VALID: "the certificate is not yet valid",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate is for another name",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "the server requires a client certificate",
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "no client certificate was sent",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the peer does not trust the CA of our certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "the peer says our certificate has expired",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "the peer rejected our certificate",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "the peer offers only TLS versions below the minimum",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "no TLS version in common",
  ERR_SSL_WRONG_VERSION_NUMBER: "the peer does not speak TLS",
  ERR_SSL_HTTP_REQUEST: "the peer sent plaintext HTTP to a TLS port",
  ECONNRESET: "the peer reset the connection",
};

/** Why a TLS step failed, in words, with the code it came from. */
export function describeTlsError(err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code;
  const reason = code === undefined ? undefined : reasons[code];
  if (reason !== undefined) return `${reason} (${code})`;
  return code === undefined ? String(e?.message ?? err) : `${e?.message ?? code} (${code})`;
}

/**
 * What a failed `fetch` says: undici's and browsers' "fetch failed" plus the cause (a refused
 * connection, a TLS step and why).
 */
export function describeFetchError(err: unknown): string {
  const message = (err as Error | undefined)?.message ?? String(err);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause === undefined || cause === null ? message : `${message}: ${describeTlsError(cause)}`;
}
