/**
 * scaling-lab's one seeded random number generator (weights, data order, sampling, task draws, bootstrap resamples,
 * Monte-Carlo forecasts): small, fast, and its whole state is four 32-bit integers, so a training run can save it in a
 * checkpoint and resume bit-exactly. Algorithm: xoshiro128** (Blackman & Vigna), seeded through splitmix32 so that
 * nearby seeds give unrelated streams. A `stream` number gives many independent streams of one seed: bootstrap
 * replicate i draws from (seed, i), the same numbers whichever worker thread runs it.
 */
import { fmix32 } from "./hash.js";

/** Serializable RNG state. */
export type RngState = [number, number, number, number];

/** xoshiro128** generator with Gaussian sampling (Box–Muller, no cached spare, so the state is the 4 words). */
export class Rng {
  private s: Uint32Array;

  /**
   * Seeds from an integer (any JS number; non-integers are truncated), or restores a state saved by
   * {@link getState}. `stream` (an integer; default 0, the seed's own stream) selects an independent stream.
   */
  constructor(seed: number | RngState = 0, stream = 0) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) {
      this.setState(seed);
      return;
    }
    let x = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9;
    if (stream !== 0) x = fmix32(x ^ Math.imul(Math.trunc(stream) >>> 0, 0x85ebca6b));
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A copy of the state, for checkpoints. */
  getState(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** Restores a state saved by {@link getState}. */
  setState(state: RngState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new Error("invalid RNG state: expected four 32-bit unsigned integers");
    }
    this.s.set(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
