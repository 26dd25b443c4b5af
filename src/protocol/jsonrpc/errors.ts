import { Code, codeFromString, codeToString } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";

/** The error codes the JSON-RPC 2.0 specification defines (section 5.1). */
const JsonRpcCode = Object.freeze({
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Start of the range reserved for implementation-defined server errors. */
  ServerError: -32000,
});

/** A JSON-RPC 2.0 error object. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data: { code: string; details?: unknown };
}

/** Why a message failed before any method ran. */
export type Malformation = "parse" | "request";

/** The JSON-RPC error for `err` (docs/protocols.md has the table); `malformation` marks the two framing failures. */
export function toJsonRpcError(err: RpcError, malformation?: Malformation): JsonRpcErrorObject {
  let code: number;
  if (malformation === "parse") code = JsonRpcCode.ParseError;
  else if (malformation === "request") code = JsonRpcCode.InvalidRequest;
  else if (err.code === Code.Unimplemented) code = JsonRpcCode.MethodNotFound;
  else if (err.code === Code.InvalidArgument) code = JsonRpcCode.InvalidParams;
  else if (err.code === Code.Internal) code = JsonRpcCode.InternalError;
  else code = JsonRpcCode.ServerError;
  const data: JsonRpcErrorObject["data"] = { code: codeToString(err.code) };
  if (err.details.length > 0) data.details = err.details;
  return { code, message: err.rawMessage, data };
}

/** The `RpcError` for a JSON-RPC error object received from a server. */
export function fromJsonRpcError(error: unknown): RpcError {
  if (typeof error === "string") return new RpcError(Code.Unknown, error);
  if (typeof error !== "object" || error === null)
    return new RpcError(Code.Unknown, `malformed error ${String(error)}`);
  const { code, message, data } = error as { code?: unknown; message?: unknown; data?: unknown };
  const text = typeof message === "string" ? message : "error without message";
  const named =
    typeof data === "object" && data !== null && typeof (data as { code?: unknown }).code === "string"
      ? codeFromString((data as { code: string }).code)
      : Code.Unknown;
  let mapped = named;
  if (named === Code.Unknown) {
    if (code === JsonRpcCode.MethodNotFound) mapped = Code.Unimplemented;
    else if (code === JsonRpcCode.InvalidParams) mapped = Code.InvalidArgument;
    else if (
      code === JsonRpcCode.ParseError ||
      code === JsonRpcCode.InvalidRequest ||
      code === JsonRpcCode.InternalError
    )
      mapped = Code.Internal;
  }
  const details = typeof data === "object" && data !== null ? (data as { details?: unknown }).details : undefined;
  if (Array.isArray(details)) return new RpcError(mapped, text, { details });
  return new RpcError(mapped, text, data !== undefined && named === Code.Unknown ? { details: [data] } : {});
}
