/**
 * Watches the buffers code allocates while it decodes untrusted bytes: the constructors of the
 * typed arrays the decoders use, `ArrayBuffer`, `Array` (counted at 8 bytes an element) and
 * Node's `Buffer.alloc*` are wrapped, and {@link measureAllocations} reports the largest single
 * allocation made while a function ran. A decoder that sizes a buffer by a length it read, before
 * checking that length against a limit or the bytes present, shows up as an allocation out of
 * proportion to its input.
 *
 * The wrappers are installed once per process ({@link installAllocGuard}) and cost a proxy trap per
 * allocation; code that captured a constructor before installation is not seen (farcall's source
 * looks the globals up at each call). `Array.prototype.constructor` is set to the wrapper, so a
 * check such as `value.constructor === Array` holds as without it. Typed-array views (`subarray`)
 * and `slice()` copies are not counted: they are made through the original constructors and are
 * never larger than what they copy.
 */

let installed = false;
let depth = 0;
let largest = 0;
let largestWhat = "";

function note(bytes: number, what: string): void {
  if (depth > 0 && bytes > largest) {
    largest = bytes;
    largestWhat = what;
  }
}

/** The byte size a typed array constructor call asks for, when its first argument is a length. */
function requested(args: unknown[], bytesPerElement: number): number {
  const first = args[0];
  if (typeof first === "number") return first * bytesPerElement;
  return 0;
}

function wrapConstructor(name: string, bytesPerElement: number): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const original = g[name] as new (...args: unknown[]) => unknown;
  g[name] = new Proxy(original, {
    construct(target, args, newTarget) {
      note(requested(args, bytesPerElement), `new ${name}(${String(args[0])})`);
      return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
    },
    apply(target, self, args) {
      // Array(n) without new allocates the same.
      if (name === "Array") note(requested(args, bytesPerElement), `Array(${String(args[0])})`);
      return Reflect.apply(target, self, args);
    },
  });
}

/** Installs the wrappers (once). */
export function installAllocGuard(): void {
  if (installed) return;
  installed = true;
  wrapConstructor("Uint8Array", 1);
  wrapConstructor("Int32Array", 4);
  wrapConstructor("Uint32Array", 4);
  wrapConstructor("Float64Array", 8);
  wrapConstructor("ArrayBuffer", 1);
  wrapConstructor("Array", 8);
  // Code that tells plain arrays by `value.constructor === Array` (the MessagePack encoder) must
  // still see the global it compares with.
  Object.defineProperty(Array.prototype, "constructor", {
    value: (globalThis as { Array: unknown }).Array,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  const buffer = (globalThis as unknown as { Buffer?: Record<string, unknown> }).Buffer;
  if (buffer !== undefined) {
    for (const fn of ["alloc", "allocUnsafe", "allocUnsafeSlow"]) {
      const original = buffer[fn] as (n: number, ...rest: unknown[]) => unknown;
      buffer[fn] = (n: number, ...rest: unknown[]) => {
        note(n, `Buffer.${fn}(${n})`);
        return original.call(buffer, n, ...rest);
      };
    }
  }
}

/** What {@link measureAllocations} saw. */
export interface AllocationReport {
  /** Bytes of the largest single allocation. */
  readonly largest: number;
  /** That allocation, e.g. `new Uint8Array(65536)`. */
  readonly what: string;
}

/** Starts counting; pair with {@link endMeasure}. Nested measurements share one maximum. */
export function beginMeasure(): void {
  if (depth === 0) {
    largest = 0;
    largestWhat = "";
  }
  depth++;
}

/** Stops counting and returns the largest allocation since {@link beginMeasure}. */
export function endMeasure(): AllocationReport {
  depth = Math.max(0, depth - 1);
  return { largest, what: largestWhat };
}

/** Runs `fn` and returns its result with the largest allocation it made. */
export function measureAllocations<T>(fn: () => T): { result: T; report: AllocationReport } {
  beginMeasure();
  try {
    const result = fn();
    return { result, report: { largest, what: largestWhat } };
  } finally {
    endMeasure();
  }
}

/**
 * Runs `fn` without counting its allocations: for a target's own checks (a reference reading, an
 * encoder's shared slab while checking a round trip), which are not the code under test.
 */
export function unmeasured<T>(fn: () => T): T {
  const saved = depth;
  depth = 0;
  try {
    return fn();
  } finally {
    depth = saved;
  }
}
