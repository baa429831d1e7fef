/**
 * A small seeded random number generator for resampling (bootstrap) and Monte-Carlo. Algorithm: mulberry32
 * seeded through splitmix32, so that replicate i of a bootstrap can derive its own independent stream from
 * (seed, i) and give the same draw whichever worker thread runs it.
 */

/** Mixes two integers into a well-spread 32-bit seed (splitmix32 finaliser). */
export function mixSeed(seed: number, stream: number): number {
  let z = (Math.trunc(seed) ^ Math.imul(Math.trunc(stream) + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seeded uniform generator (mulberry32). */
export class SeededRandom {
  private state: number;

  /** Seeds the stream; `stream` selects one of many independent streams for the same seed. */
  constructor(seed: number, stream = 0) {
    this.state = mixSeed(seed, stream);
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u <= 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Uniform in [lo, hi]. */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
}
