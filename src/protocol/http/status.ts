import { Code } from "../../core/code.js";

/** HTTP status for each code (docs/protocols.md); indexed by `Code`. */
const statusByCode: readonly number[] = [
  200, // ok
  499, // canceled: the client closed the request (nginx's convention)
  500, // unknown
  400, // invalid_argument
  504, // deadline_exceeded
  404, // not_found
  409, // already_exists
  403, // permission_denied
  429, // resource_exhausted
  400, // failed_precondition
  409, // aborted
  400, // out_of_range
  501, // unimplemented
  500, // internal
  503, // unavailable
  500, // data_loss
  401, // unauthenticated
];

/** The HTTP status an error with `code` is answered with. */
export function httpStatusOf(code: Code): number {
  return statusByCode[code] ?? 500;
}

/** The code a client gives an HTTP error status when the body does not name one. */
export function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
    case 501:
      return Code.Unimplemented;
    case 408:
    case 504:
      return Code.DeadlineExceeded;
    case 409:
      return Code.Aborted;
    case 413:
    case 429:
      return Code.ResourceExhausted;
    case 499:
      return Code.Canceled;
    case 502:
    case 503:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/** Header carrying the caller's timeout in ms. */
export const timeoutHeader = "farcall-timeout-ms";
/** Prefix of headers that carry metadata. */
export const metadataHeaderPrefix = "farcall-md-";
