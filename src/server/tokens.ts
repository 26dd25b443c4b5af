import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { IncomingCall } from "../protocol/call-context.js";
import type { Authenticate } from "./guard.js";

// Ready `authenticate` hooks for bearer tokens (docs/security.md §2). A token is never logged,
// echoed in an error, or kept beyond the call.

/** The token of an `authorization: Bearer <token>` metadata entry (RFC 6750 §2.1), if there is one. */
export function bearerToken(call: IncomingCall): string | undefined {
  const value = call.metadata.authorization;
  if (value === undefined) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(value);
  return m?.[1];
}

/**
 * Authenticates calls by bearer token: `verify` maps a token to a principal or throws. A call
 * without one, or whose token `verify` refuses, is `unauthenticated` ("missing bearer token",
 * "invalid bearer token": never the token or why it was refused).
 */
export function bearerTokens(verify: (token: string, call: IncomingCall) => unknown): Authenticate {
  return async (call) => {
    const token = bearerToken(call);
    if (token === undefined) throw new RpcError(Code.Unauthenticated, "missing bearer token");
    try {
      return await verify(token, call);
    } catch (err) {
      if (err instanceof RpcError && err.code === Code.PermissionDenied) throw err;
      throw new RpcError(Code.Unauthenticated, "invalid bearer token", { cause: err });
    }
  };
}

/** Options for {@link jwtVerifier}. */
export interface JwtVerifierOptions {
  /** `iss` the token must carry. */
  issuer: string | readonly string[];
  /** `aud` the token must carry (one of). */
  audience: string | readonly string[];
  /**
   * The keys: a JWK set (`{ keys: [...] }`), a URL to fetch one from (cached and refreshed by
   * `jose`), or one secret for HS256 tokens (at least 32 bytes).
   */
  keys: { keys: readonly object[] } | URL | Uint8Array;
  /** Algorithms accepted. Default: RS256, PS256, ES256, EdDSA for key sets; HS256 for a secret. */
  algorithms?: readonly string[];
  /** Clock skew allowed on `exp` and `nbf`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /** What the principal is made of. Default the token's claims (its payload). */
  principal?: (claims: Readonly<Record<string, unknown>>) => unknown;
}

/**
 * An `authenticate` hook for JWT bearer tokens, verified by `jose`: signature against the keys,
 * `iss`, `aud`, `exp` and `nbf`. The principal is the token's claims unless `principal` says else.
 * @throws TypeError for an HS256 secret shorter than 32 bytes
 */
export function jwtVerifier(options: JwtVerifierOptions): Authenticate {
  const secret = options.keys instanceof Uint8Array ? options.keys : undefined;
  if (secret !== undefined && secret.length < 32)
    throw new TypeError("jwtVerifier: an HS256 secret needs at least 32 bytes");
  const algorithms = [
    ...(options.algorithms ?? (secret !== undefined ? ["HS256"] : ["RS256", "PS256", "ES256", "EdDSA"])),
  ];
  let ready: Promise<(token: string) => Promise<Record<string, unknown>>> | undefined;
  const load = async () => {
    const jose = await import("jose");
    const keys = options.keys;
    const key =
      keys instanceof Uint8Array
        ? keys
        : keys instanceof URL
          ? jose.createRemoteJWKSet(keys)
          : jose.createLocalJWKSet(keys as Parameters<typeof jose.createLocalJWKSet>[0]);
    return async (token: string) => {
      const { payload } = await jose.jwtVerify(token, key as Parameters<typeof jose.jwtVerify>[1], {
        issuer: options.issuer as string | string[],
        audience: options.audience as string | string[],
        algorithms,
        clockTolerance: options.clockToleranceSec ?? 30,
      });
      return payload as Record<string, unknown>;
    };
  };
  return bearerTokens(async (token) => {
    ready ??= load();
    const claims = await (await ready)(token);
    return options.principal === undefined ? claims : options.principal(claims);
  });
}
