/**
 * Status codes, with gRPC's numbers (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
 * The set is closed: codes arriving off the wire that are not listed here become `Code.Unknown`.
 */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

const names: readonly string[] = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

const byName: Readonly<Record<string, Code>> = (() => {
  const table: Record<string, Code> = Object.create(null);
  for (let i = 1; i < names.length; i++) table[names[i] as string] = i as Code;
  return table;
})();

/** The snake_case spelling used on text wires, e.g. `deadline_exceeded`. */
export function codeToString(code: Code): string {
  return names[code] ?? "unknown";
}

/** Looks a code up by its snake_case spelling; anything unrecognised is `Code.Unknown`. */
export function codeFromString(name: string): Code {
  return byName[name] ?? Code.Unknown;
}

/** Turns a number read off the wire into a `Code`; anything outside 1..16 is `Code.Unknown`. */
export function codeFromNumber(n: number): Code {
  return Number.isInteger(n) && n >= 1 && n <= 16 ? (n as Code) : Code.Unknown;
}
