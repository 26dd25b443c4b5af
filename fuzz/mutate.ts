/**
 * The mutator: bit flips, byte changes, inserts and deletes, interesting integers written where a
 * length field may be, truncation, duplication, splices with another corpus entry, and a target's
 * own tokens. A few are stacked per input (AFL's "havoc" stage), all driven by one seeded PRNG so
 * a run can be repeated.
 */

/** xorshift32: small, fast and seeded, so a run can be repeated. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** A 32-bit unsigned integer. */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  chance(oneIn: number): boolean {
    return this.below(oneIn) === 0;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
}

/** Values that sit on the edges of length checks: powers of two and their neighbours, and the limits. */
export const interestingIntegers: readonly number[] = [
  0, 1, 2, 3, 4, 7, 8, 9, 10, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 400, 401, 511,
  512, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 8192, 8193, 10_000, 10_001, 16_384, 32_767, 32_768, 65_535, 65_536,
  131_072, 131_073, 1_048_576, 4_194_304, 4_194_305, 4_203_008, 4_203_009, 16_777_216, 0x7fff_ffff, 0x8000_0000,
  0x8000_0001, 0xffff_fffe, 0xffff_ffff,
];

const interestingBytes = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c];

function insert(bytes: Uint8Array, at: number, piece: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + piece.length);
  out.set(bytes.subarray(0, at));
  out.set(piece, at);
  out.set(bytes.subarray(at), at + piece.length);
  return out;
}

function remove(bytes: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(bytes.length - n);
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(at + n), at);
  return out;
}

function writeInt(bytes: Uint8Array, at: number, width: 1 | 2 | 4, value: number, littleEndian: boolean): void {
  for (let i = 0; i < width; i++) {
    const shift = littleEndian ? 8 * i : 8 * (width - 1 - i);
    if (at + i < bytes.length) bytes[at + i] = Math.floor(value / 2 ** shift) & 0xff;
  }
}

/** What the mutator may use besides the input itself. */
export interface MutationContext {
  readonly rng: Rng;
  /** Other inputs of the corpus, to splice with. */
  readonly corpus: readonly Uint8Array[];
  /** The target's tokens (magic numbers, keywords). */
  readonly tokens: readonly Uint8Array[];
  /** Inputs never grow past this. */
  readonly maxLength: number;
}

/** One mutation of `input` (never modified), by kind. */
export function mutateOnce(input: Uint8Array, ctx: MutationContext): Uint8Array {
  const { rng } = ctx;
  let b = input;
  const len = b.length;
  const at = () => rng.below(len + 1);
  switch (rng.below(13)) {
    case 0: {
      // bit flip
      if (len === 0) return Uint8Array.of(rng.below(256));
      b = b.slice();
      const i = rng.below(len);
      b[i] = (b[i] as number) ^ (1 << rng.below(8));
      return b;
    }
    case 1: {
      // a byte set to a random or an interesting value
      if (len === 0) return Uint8Array.of(rng.pick(interestingBytes));
      b = b.slice();
      b[rng.below(len)] = rng.chance(2) ? rng.below(256) : rng.pick(interestingBytes);
      return b;
    }
    case 2: {
      // random bytes inserted
      const n = 1 + rng.below(rng.chance(8) ? 64 : 4);
      const piece = new Uint8Array(n);
      for (let i = 0; i < n; i++) piece[i] = rng.chance(2) ? rng.below(256) : rng.pick(interestingBytes);
      return insert(b, at(), piece);
    }
    case 3: {
      // a run of bytes deleted
      if (len === 0) return b;
      const i = rng.below(len);
      return remove(b, i, 1 + rng.below(Math.min(len - i, rng.chance(4) ? 64 : 4)));
    }
    case 4:
    case 5: {
      // an interesting integer where a length field may be: any offset, or one aligned to 4 (XDR, marks)
      if (len === 0) return b;
      b = b.slice();
      const width = rng.pick([1, 2, 4] as const);
      let i = rng.below(len);
      if (rng.chance(2)) i -= i % 4;
      let v = rng.pick(interestingIntegers);
      if (rng.chance(4)) v = Math.max(0, v + rng.below(5) - 2);
      writeInt(b, i, width, v, rng.chance(8));
      return b;
    }
    case 6: {
      // arithmetic on a byte or a big-endian u32
      if (len === 0) return b;
      b = b.slice();
      const i = rng.below(len);
      const delta = rng.below(35) - 17;
      if (rng.chance(2) || i + 4 > len) b[i] = ((b[i] as number) + delta) & 0xff;
      else {
        const v =
          ((b[i] as number) * 0x100_0000 +
            ((b[i + 1] as number) << 16) +
            ((b[i + 2] as number) << 8) +
            (b[i + 3] as number)) >>>
          0;
        writeInt(b, i, 4, (v + delta) >>> 0, false);
      }
      return b;
    }
    case 7:
      // truncation
      return len === 0 ? b : b.subarray(0, rng.below(len));
    case 8: {
      // a range duplicated in place
      if (len === 0) return b;
      const i = rng.below(len);
      const n = 1 + rng.below(Math.min(len - i, 256));
      return insert(b, i + n, b.slice(i, i + n));
    }
    case 9: {
      // the whole input twice (a second message after the first)
      return insert(b, len, b.slice());
    }
    case 10: {
      // splice: a prefix of this input and a suffix of another entry
      const other = rng.pick(ctx.corpus);
      if (other === undefined) return b;
      const head = b.subarray(0, at());
      const tail = other.subarray(rng.below(other.length + 1));
      return insert(head, head.length, tail);
    }
    case 11: {
      // a piece of another entry inserted
      const other = rng.pick(ctx.corpus);
      if (other === undefined || other.length === 0) return b;
      const i = rng.below(other.length);
      return insert(b, at(), other.subarray(i, i + 1 + rng.below(Math.min(other.length - i, 64))));
    }
    default: {
      // a token inserted or written over the bytes there
      if (ctx.tokens.length === 0) return mutateOnce(b, { ...ctx, tokens: [Uint8Array.of(0)] });
      const token = rng.pick(ctx.tokens);
      if (rng.chance(2) || len < token.length) return insert(b, at(), token);
      b = b.slice();
      b.set(token, rng.below(len - token.length + 1));
      return b;
    }
  }
}

/** One to eight stacked mutations, capped at `maxLength` bytes. */
export function mutate(input: Uint8Array, ctx: MutationContext): Uint8Array {
  let b = input;
  const n = 1 << ctx.rng.below(4);
  for (let i = 0; i < n; i++) b = mutateOnce(b, ctx);
  return b.length > ctx.maxLength ? b.subarray(0, ctx.maxLength) : b;
}
