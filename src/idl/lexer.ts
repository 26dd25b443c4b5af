// Tokens of the `.x` language (RFC 4506 §6, RFC 5531 §12): identifiers, numbers in decimal, hex
// and octal, punctuation. Comments (C and C++), `%` pass-through lines and `#` preprocessor lines
// are skipped.
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

export interface Token {
  readonly kind: "ident" | "number" | "punct" | "eof";
  readonly text: string;
  /** For numbers: the value (possibly beyond 2^53 only for hyper constants, kept as bigint). */
  readonly value?: bigint;
  readonly line: number;
  readonly column: number;
}

/** The error for a `.x` file that cannot be compiled: `time.x:3:17: expected ';' after procedure number`. */
export function idlError(file: string, line: number, column: number, what: string): RpcError {
  return new RpcError(Code.InvalidArgument, `${file}:${line}:${column}: ${what}`);
}

const punct = new Set(["{", "}", "(", ")", "[", "]", "<", ">", ";", ",", "=", "*", ":"]);
const isIdentStart = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
const isIdentPart = (c: string) => isIdentStart(c) || (c >= "0" && c <= "9");
const isDigit = (c: string) => c >= "0" && c <= "9";

/** Splits `.x` text into tokens. @throws RpcError `invalid_argument` naming the file, line and column. */
export function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  const col = () => i - lineStart + 1;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      atLineStart = true;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    // `%` lines go to rpcgen's C output verbatim and `#` lines to cpp: neither means anything here.
    if (atLineStart && (c === "%" || c === "#")) {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    atLineStart = false;
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const startLine = line;
      const startCol = col();
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) {
        if (text[i] === "\n") {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      if (i >= text.length) throw idlError(file, startLine, startCol, "comment is not closed");
      i += 2;
      continue;
    }
    const startCol = col();
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentPart(text[j] as string)) j++;
      out.push({ kind: "ident", text: text.slice(i, j), line, column: startCol });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === "-" && isDigit(text[i + 1] ?? ""))) {
      let j = c === "-" ? i + 1 : i;
      let value: bigint;
      let digits: string;
      if (text[j] === "0" && (text[j + 1] === "x" || text[j + 1] === "X")) {
        j += 2;
        const s = j;
        while (j < text.length && /[0-9a-fA-F]/.test(text[j] as string)) j++;
        digits = text.slice(s, j);
        if (digits === "") throw idlError(file, line, startCol, "expected hex digits after 0x");
        value = BigInt(`0x${digits}`);
      } else if (text[j] === "0") {
        const s = j;
        while (j < text.length && isDigit(text[j] as string)) j++;
        digits = text.slice(s, j);
        if (/[89]/.test(digits)) throw idlError(file, line, startCol, `${digits} is not an octal number`);
        value = BigInt(`0o${digits}`);
      } else {
        const s = j;
        while (j < text.length && isDigit(text[j] as string)) j++;
        digits = text.slice(s, j);
        value = BigInt(digits);
      }
      if (j < text.length && isIdentPart(text[j] as string)) {
        throw idlError(file, line, col() + (j - i), `unexpected ${JSON.stringify(text[j])} in a number`);
      }
      out.push({ kind: "number", text: text.slice(i, j), value: c === "-" ? -value : value, line, column: startCol });
      i = j;
      continue;
    }
    if (punct.has(c)) {
      out.push({ kind: "punct", text: c, line, column: startCol });
      i++;
      continue;
    }
    throw idlError(file, line, startCol, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: "eof", text: "end of file", line, column: col() });
  return out;
}
