/**
 * Source text of parts of a JSON text, for echoing values (such as JSON-RPC ids) exactly as they
 * arrived rather than as `JSON.parse` rounded them. The text must already be known to be valid
 * JSON; a malformed one throws a `SyntaxError` or gives an unspecified answer. The exception is
 * {@link arraySpans}, which runs before parsing and never throws.
 */

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * For the text of a JSON object: the exact source text of the value of its top-level member `key`
 * (the last such member when repeated, as `JSON.parse` does), or undefined when absent or when the
 * text is not an object. Keys are compared after decoding escapes (so `"\u0069d"` is `id`).
 */
export function rawMember(text: string, key: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_OBJECT) return undefined;
  let found: string | undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) throw malformed(i);
    const keyEnd = skipString(text, i);
    const matches = sameKey(text, i, keyEnd, key);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) throw malformed(i);
    const valueStart = skipSpace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    if (matches) found = text.slice(valueStart, valueEnd);
    i = skipSpace(text, valueEnd);
    const c = text.charCodeAt(i);
    if (c === CLOSE_OBJECT) return found;
    if (c !== COMMA) throw malformed(i);
    i = skipSpace(text, i + 1);
  }
}

/**
 * For the text of a JSON array: the exact source text of each element, without the whitespace
 * around it. @throws TypeError when the text is not an array.
 */
export function rawElements(text: string): string[] {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_ARRAY) throw new TypeError("rawElements: the text is not a JSON array");
  const out: string[] = [];
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_ARRAY) return out;
  for (;;) {
    const end = skipValue(text, i);
    out.push(text.slice(i, end));
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_ARRAY) return out;
    if (c !== COMMA) throw malformed(i);
    i = skipSpace(text, i + 1);
  }
}

/**
 * For a text whose first non-blank character is `[`, read before the text is parsed: the source
 * span of each top-level element, `[start0, end0, start1, end1, …]` without the whitespace around
 * them, or undefined as soon as an element past the `max`th begins, so an over-long array costs a
 * scan of its first `max + 1` elements and never a parse. Only strings and brackets are followed,
 * as `JSON.parse` would see them; nothing is validated, and the scan ends (in one pass) whatever the
 * text holds. The spans are exact for a text that then parses; for one that does not, they and
 * the verdict mean nothing beyond "not a valid array of at most `max` elements".
 */
export function arraySpans(text: string, max: number): number[] | undefined {
  const spans: number[] = [];
  const len = text.length;
  let i = skipSpace(text, skipSpace(text, 0) + 1);
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) return spans;
    if (c === COMMA) {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (spans.length === 2 * max) return undefined;
    const end = skipValueOrEnd(text, i);
    spans.push(i, end);
    i = skipSpace(text, end);
  }
  return spans;
}

/** Whether the string literal `text[start..end)` spells `key` once its escapes are decoded. */
function sameKey(text: string, start: number, end: number, key: string): boolean {
  const body = text.slice(start + 1, end - 1);
  if (body.indexOf("\\") < 0) return body === key;
  return JSON.parse(text.slice(start, end)) === key;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    i++;
  }
}

/** The index just past the string literal whose opening quote is at `start`. */
function skipString(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) throw malformed(start);
    // The quote closes the string unless an odd run of backslashes comes right before it.
    let j = q - 1;
    while (text.charCodeAt(j) === BACKSLASH) j--;
    if ((q - 1 - j) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** {@link skipString} for text not yet known to be JSON: an unterminated string runs to the end. */
function skipStringOrEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return text.length;
    let j = q - 1;
    while (text.charCodeAt(j) === BACKSLASH) j--;
    if ((q - 1 - j) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/**
 * {@link skipValue} for text not yet known to be JSON: an unclosed value runs to the end, and at
 * least one character is always consumed, so a caller's loop moves on.
 */
function skipValueOrEnd(text: string, start: number): number {
  const len = text.length;
  const first = text.charCodeAt(start);
  if (first === QUOTE) return skipStringOrEnd(text, start);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let i = start; i < len; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) i = skipStringOrEnd(text, i) - 1;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
    }
    return len;
  }
  let i = start + 1;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (
      c === COMMA ||
      c === CLOSE_OBJECT ||
      c === CLOSE_ARRAY ||
      c === SPACE ||
      c === LF ||
      c === CR ||
      c === TAB ||
      c === QUOTE ||
      c === OPEN_OBJECT ||
      c === OPEN_ARRAY
    ) {
      break;
    }
    i++;
  }
  return i;
}

/** The index just past the value that starts at `start` (which is not whitespace). */
function skipValue(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return skipString(text, start);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    let i = start;
    const len = text.length;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i = skipString(text, i);
        continue;
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
      i++;
    }
    throw malformed(start);
  }
  // A number or a literal (true, false, null): runs to the next delimiter.
  let i = start;
  const len = text.length;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (
      c === COMMA ||
      c === CLOSE_OBJECT ||
      c === CLOSE_ARRAY ||
      c === SPACE ||
      c === LF ||
      c === CR ||
      c === TAB ||
      c === COLON
    ) {
      break;
    }
    i++;
  }
  if (i === start) throw malformed(start);
  return i;
}

function malformed(at: number): SyntaxError {
  return new SyntaxError(`malformed JSON at offset ${at}`);
}
