// The head of a REQUEST's payload (docs/protocol.md §4.1): the method, by id and maybe by name,
// the kind of call its flags say, its timeout and its metadata. What the server session reads
// before the message.
import { maxTimerMs } from "../../core/deadline.js";
import { createMetadata, type Metadata } from "../../core/metadata.js";
import type { MethodDescriptor, MethodKind } from "../../core/service.js";
import { Flag, maxMethodIds, maxMethodNameBytes } from "./constants.js";
import { decodeMetadata, decodeText, type PayloadReader } from "./payload.js";
import { protocolError } from "./session.js";

const emptyMetadata: Metadata = Object.freeze(createMetadata()) as Metadata;

/** The kind of call a REQUEST's flags say. */
export function kindOf(flags: number): MethodKind {
  if ((flags & Flag.Oneway) !== 0) return "oneway";
  const streamIn = (flags & Flag.Stream) !== 0;
  const streamOut = (flags & Flag.ResponseStream) !== 0;
  if (streamIn) return streamOut ? "bidi_stream" : "client_stream";
  return streamOut ? "server_stream" : "unary";
}

/** A method id bound by the client (docs/protocol.md §4.1). */
export interface Binding {
  readonly path: string;
  readonly method: MethodDescriptor | undefined;
}

/** The method ids one connection's client has bound (at most {@link maxMethodIds}). */
export class MethodBindings {
  private readonly bindings: (Binding | undefined)[] = [];

  constructor(private readonly resolve: (path: string) => MethodDescriptor | undefined) {}

  /**
   * Reads the method id, and the name when the flags say one follows (binding the id to it).
   * @throws RpcError a protocol error (the connection's) for an id out of range, a bad name
   * length, or an id never bound
   */
  read(r: PayloadReader, flags: number): Binding {
    const methodId = r.u16("method id");
    if (methodId > maxMethodIds) throw protocolError(`method id ${methodId} exceeds ${maxMethodIds}`);
    if ((flags & Flag.Name) !== 0) {
      const n = r.u16("method name length");
      if (n === 0 || n > maxMethodNameBytes)
        throw protocolError(`method name length ${n} outside 1..${maxMethodNameBytes}`);
      const path = decodeText(r.take(n, "method name"), "method name");
      const binding = { path, method: this.resolve(path) };
      if (methodId !== 0) this.bindings[methodId] = binding;
      return binding;
    }
    const binding = methodId === 0 ? undefined : this.bindings[methodId];
    if (binding === undefined) throw protocolError(`method id ${methodId} was never bound`);
    return binding;
  }
}

/**
 * The timeout and metadata that follow the method, as the flags say.
 * @throws RpcError for metadata over `maxMetadataBytes` or malformed
 */
export function readCallOptions(
  r: PayloadReader,
  flags: number,
  maxMetadataBytes: number,
): { timeoutMs: number | undefined; metadata: Metadata } {
  let timeoutMs: number | undefined;
  if ((flags & Flag.Deadline) !== 0) {
    timeoutMs = r.u32("timeout");
    // Beyond what a timer can hold (about 24.8 days) means no deadline (docs/protocol.md §4.1).
    if (timeoutMs > maxTimerMs) timeoutMs = undefined;
  }
  const metadata =
    (flags & Flag.Metadata) !== 0 ? decodeMetadata(r.block(maxMetadataBytes, "metadata")) : emptyMetadata;
  return { timeoutMs, metadata };
}
