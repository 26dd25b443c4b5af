/**
 * Request and response metadata: string keys to string values, like HTTP headers.
 * Keys are case-insensitive and travel lower-cased. Objects built from wire data have a
 * null prototype, so a key such as `__proto__` or `constructor` is just a key.
 */
export type Metadata = Record<string, string>;

/** A new, empty metadata object with a null prototype. */
export function createMetadata(init?: Readonly<Record<string, string>>): Metadata {
  const md: Metadata = Object.create(null);
  if (init !== undefined) {
    for (const key of Object.keys(init)) {
      const value = init[key];
      if (typeof value === "string") md[key.toLowerCase()] = value;
    }
  }
  return md;
}

/** True when the object has no keys. */
export function isEmptyMetadata(md: Readonly<Metadata> | undefined): boolean {
  if (md === undefined) return true;
  for (const _ in md) return false;
  return true;
}

/** The metadata key a call's `CallOptions.idempotencyKey` travels in (the name of the HTTP header drafted for it). */
export const idempotencyKeyHeader = "idempotency-key";
