// The payloads every system carries, defined once, and the checks applied to every reply.

/** One entry of {@link BenchStruct.items}. No field holds a zero, empty or false value, so protobuf
 * (which leaves default values off the wire) returns the same object it was given. */
export interface BenchItem {
  name: string;
  qty: number;
  price: number;
  active: boolean;
}

/** The ~1 KiB struct of the `struct` workload: a few strings and numbers and ten small objects. */
export interface BenchStruct {
  id: string;
  name: string;
  email: string;
  description: string;
  version: number;
  score: number;
  tags: string[];
  items: BenchItem[];
}

export const benchStruct: BenchStruct = {
  id: "3f8e2a71-5c4d-4b9e-8a1f-0d2c6e7b9a13",
  name: "Ada Lovelace",
  email: "ada.lovelace@example.org",
  description:
    "A record of moderate size: a handful of strings, numbers and a nested list of line items, " +
    "padded to about one kibibyte of JSON so that encoding is a real share of the cost of a call.",
  version: 42,
  score: 98.625,
  tags: ["analytical", "engine", "notes", "bernoulli"],
  items: Array.from({ length: 10 }, (_, i) => ({
    name: `item-${String(i).padStart(2, "0")} widget`,
    qty: i + 1,
    price: 9.75 + i * 1.5,
    active: true,
  })),
};

/** The struct as JSON bytes: what raw-net echoes, and the measure of "~1 KiB". */
export const benchStructJson: Uint8Array = new TextEncoder().encode(JSON.stringify(benchStruct));
if (benchStructJson.byteLength < 896 || benchStructJson.byteLength > 1152) {
  throw new Error(`benchStruct is ${benchStructJson.byteLength} bytes of JSON, expected about 1024`);
}

/** True if `value` is field for field the same as {@link benchStruct}. */
export function isBenchStruct(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as BenchStruct;
  const s = benchStruct;
  if (v.id !== s.id || v.name !== s.name || v.email !== s.email || v.description !== s.description) return false;
  if (v.version !== s.version || v.score !== s.score) return false;
  if (!Array.isArray(v.tags) || v.tags.length !== s.tags.length) return false;
  for (let i = 0; i < s.tags.length; i++) if (v.tags[i] !== s.tags[i]) return false;
  if (!Array.isArray(v.items) || v.items.length !== s.items.length) return false;
  for (let i = 0; i < s.items.length; i++) {
    const a = v.items[i] as BenchItem;
    const b = s.items[i] as BenchItem;
    if (a.name !== b.name || a.qty !== b.qty || a.price !== b.price || a.active !== b.active) return false;
  }
  return true;
}

/** One of the 100 records of the `records` workload. */
export interface BenchRecord {
  id: number;
  user: string;
  email: string;
  city: string;
  balance: number;
  verified: boolean;
  joined: string;
  roles: string[];
}

/** The ~16 KiB `records` workload: a page of a listing, 100 flat records in one object. */
export interface BenchRecords {
  page: number;
  records: BenchRecord[];
}

const cities = ["Lisbon", "Osaka", "Nairobi", "Quito", "Tallinn", "Hobart", "Recife", "Da Nang"];
export const benchRecords: BenchRecords = {
  page: 7,
  records: Array.from({ length: 100 }, (_, i) => ({
    id: 10_000 + i,
    user: `user-${String(i).padStart(3, "0")}`,
    email: `user${i}@mail.example.net`,
    city: cities[i % cities.length] as string,
    balance: 1_000.25 + i * 37.5,
    verified: true,
    joined: `2026-0${1 + (i % 9)}-1${i % 10}`,
    roles: i % 3 === 1 ? ["reader", "writer"] : ["reader"],
  })),
};

/** A node of the `nested` workload's tree. */
export interface BenchNode {
  label: string;
  weight: number;
  tags: string[];
  /** Absent on leaves: protobuf leaves an empty list off the wire, so [] would not come back. */
  children?: BenchNode[];
}

function tree(depth: number, path: string): BenchNode {
  const node: BenchNode = { label: `node ${path}`, weight: path.length * 1.25 + 1, tags: [`d${depth}`, "leafy"] };
  if (depth > 0) node.children = [tree(depth - 1, `${path}.0`), tree(depth - 1, `${path}.1`)];
  return node;
}

/** The ~10 KiB `nested` workload: a binary tree 6 levels down, objects within arrays 14 deep. */
export const benchNested: BenchNode = tree(6, "r");

/** The string-heavy `text` workload: non-ASCII prose in several scripts, ~4 KiB as UTF-8. */
export interface BenchText {
  title: string;
  lang: string[];
  paragraphs: string[];
}

const prose = [
  "Façade, naïve café, Ærøskøbing — l'été dernier à Zürich, São Paulo et Kraków.",
  "Съешь же ещё этих мягких французских булок, да выпей чаю; широкая электрификация южных губерний.",
  "远程过程调用让另一台机器上的函数看起来像本地函数一样被调用，序列化与传输都被隐藏在桩代码之后。",
  "いろはにほへと ちりぬるを わかよたれそ つねならむ — 分散システムの呼び出しは失敗することがある。",
  "Ξεσκεπάζω τὴν ψυχοφθόρα βδελυγμία; Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός 🦊🐕.",
  "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।",
];

export const benchText: BenchText = {
  title: "Многоязычный текст — 多言語のテキスト — κείμενο",
  lang: ["fr", "ru", "zh", "ja", "el", "hi"],
  paragraphs: Array.from({ length: 24 }, (_, i) => prose[i % prose.length] as string),
};

/** JSON of the wider payloads, the measure of their sizes; checked here so an edit cannot drift. */
function checkSize(name: string, value: unknown, min: number, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  if (bytes.byteLength < min || bytes.byteLength > max) {
    throw new Error(`${name} is ${bytes.byteLength} bytes of JSON, expected ${min}-${max}`);
  }
  return bytes;
}
export const benchRecordsJson = checkSize("benchRecords", benchRecords, 14_000, 18_000);
export const benchNestedJson = checkSize("benchNested", benchNested, 9_000, 11_500);
export const benchTextJson = checkSize("benchText", benchText, 3_500, 5_000);

/** Size of the `echo` payload. */
export const echoBytes = 64 * 1024;

/** A deterministic byte pattern (not all zeros, so a wrong offset shows). */
function pattern(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

/** The `echo` payload, shared by every call. */
export const echoPayload: Buffer = pattern(echoBytes);

/** Size of one chunk of the streaming workload. */
export const streamChunkBytes = 64 * 1024;
/** One stream may take this long: grpc-js, the slowest here, needs ~7 s for 1 GiB; the run stays bounded. */
export const streamTimeoutMs = 60_000;

/** The chunk every streaming server sends (the first `n` bytes of it for a short last chunk). */
export const streamChunk: Buffer = pattern(streamChunkBytes);

/** Byte-for-byte equality of two byte arrays (memcmp, not a JS loop). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** The workloads that carry a value and get it back: the struct and the wider payloads. */
export type PayloadName = "struct" | "records" | "nested" | "text";

/**
 * Each payload: the value every system sends, its JSON (what raw-net echoes), and the check of a
 * reply (the struct has a field-by-field one, as before the wider payloads existed).
 */
export const payloads: Readonly<
  Record<PayloadName, { value: unknown; json: Uint8Array; same: (reply: unknown) => boolean }>
> = {
  struct: { value: benchStruct, json: benchStructJson, same: (r) => isBenchStruct(r) },
  records: { value: benchRecords, json: benchRecordsJson, same: (r) => sameValue(r, benchRecords) },
  nested: { value: benchNested, json: benchNestedJson, same: (r) => sameValue(r, benchNested) },
  text: { value: benchText, json: benchTextJson, same: (r) => sameValue(r, benchText) },
};

/**
 * Deep equality of JSON-like values (plain objects, arrays, strings, numbers, booleans, null), as
 * strict as `===` on the leaves; the check of every payload reply. for-in and a count of keys
 * rather than `Object.keys`: the check runs in the measuring process on every reply, and with key
 * arrays it took 1.4 µs per ~1 KiB struct (0.7 µs now; the struct's own check, {@link isBenchStruct},
 * 0.1). No payload holds `undefined`,
 * so a key missing on one side always shows as a difference.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let keys = 0;
  for (const k in a) {
    keys++;
    if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  for (const _ in b) keys--;
  return keys === 0;
}

export type WorkloadName = "add" | PayloadName | "echo";

/** How many calls are kept in flight: `inflight` per connection on each of `connections`. */
export interface Concurrency {
  label: string;
  connections: number;
  inflight: number;
}

export const concurrencies: readonly Concurrency[] = [
  { label: "1", connections: 1, inflight: 1 },
  { label: "64", connections: 1, inflight: 64 },
  { label: "256/4", connections: 4, inflight: 64 },
];
const [at1, at64] = concurrencies as [Concurrency, Concurrency, Concurrency];

/**
 * Every cell, in table order: add, struct and echo at each concurrency; the wider payloads at 1
 * and 64 in flight.
 */
export const cells: readonly { workload: WorkloadName; concurrency: Concurrency }[] = [
  ...(["add", "struct", "echo"] as const).flatMap((workload) =>
    concurrencies.map((concurrency) => ({ workload, concurrency })),
  ),
  ...(["records", "nested", "text"] as const).flatMap((workload) =>
    [at1, at64].map((concurrency) => ({ workload, concurrency })),
  ),
];

/** Cell key as used in tables, JSON and the chart: `add@64`, `echo@256/4`. */
export function cellKey(workload: WorkloadName, concurrency: Concurrency): string {
  return `${workload}@${concurrency.label}`;
}
