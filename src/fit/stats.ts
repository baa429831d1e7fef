/**
 * Small statistics used by the fits: percentiles, ordinary least squares for a line and a parabola, and the
 * Huber penalty.
 */
import { FitError } from "./errors.js";

/**
 * The q-quantile (0 ≤ q ≤ 1) of the finite values, with linear interpolation between order statistics
 * (numpy's default "linear" method). NaN when there are no finite values.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const xs = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (xs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}

/** Median of the finite values. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** A percentile interval [lo, hi] at a central `level` (0.95 → 2.5th and 97.5th percentiles). */
export function percentileInterval(values: ArrayLike<number>, level: number): [number, number] {
  const tail = (1 - level) / 2;
  return [quantile(values, tail), quantile(values, 1 - tail)];
}

/** Straight-line least-squares fit y ≈ intercept + slope·x, with R². */
export interface LineFit {
  slope: number;
  intercept: number;
  r2: number;
}

/** Ordinary least squares of y on x; throws a {@link FitError} when x has no spread. */
export function fitLine(x: ArrayLike<number>, y: ArrayLike<number>): LineFit {
  const n = x.length;
  if (n < 2) throw new FitError(`a line needs at least 2 points, got ${n}; add points`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) ** 2;
  }
  if (!(sxx > 0)) throw new FitError("all x values are equal, so no slope can be fitted; give points with different x");
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1;
  return { slope, intercept, r2 };
}

/** Parabola y ≈ c0 + c1·x + c2·x². */
export interface ParabolaFit {
  c0: number;
  c1: number;
  c2: number;
}

/**
 * Least-squares parabola through (x, y); x is centred internally for conditioning. Throws a
 * {@link FitError} with fewer than 3 distinct x values.
 */
export function fitParabola(x: ArrayLike<number>, y: ArrayLike<number>): ParabolaFit {
  const n = x.length;
  const distinct = new Set(Array.from(x)).size;
  if (distinct < 3) throw new FitError(`a parabola needs at least 3 distinct x values, got ${distinct}; add points`);
  let mx = 0;
  for (let i = 0; i < n; i++) mx += x[i];
  mx /= n;
  // Normal equations in u = x − mx.
  const s = [0, 0, 0, 0, 0];
  const t = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const u = x[i] - mx;
    let p = 1;
    for (let k = 0; k < 5; k++) {
      s[k] += p;
      if (k < 3) t[k] += p * y[i];
      p *= u;
    }
  }
  const [b0, b1, b2] = solve3(
    [
      [s[0], s[1], s[2]],
      [s[1], s[2], s[3]],
      [s[2], s[3], s[4]],
    ],
    t,
  );
  // Back to x: b0 + b1(x − m) + b2(x − m)².
  return { c0: b0 - b1 * mx + b2 * mx * mx, c1: b1 - 2 * b2 * mx, c2: b2 };
}

function solve3(a: number[][], b: number[]): [number, number, number] {
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r][col]) > Math.abs(m[piv][col])) piv = r;
    [m[col], m[piv]] = [m[piv], m[col]];
    if (m[col][col] === 0) throw new FitError("parabola fit is singular; give points with more distinct x values");
    for (let r = col + 1; r < 3; r++) {
      const f = m[r][col] / m[col][col];
      for (let c = col; c < 4; c++) m[r][c] -= f * m[col][c];
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let v = m[r][3];
    for (let c = r + 1; c < 3; c++) v -= m[r][c] * x[c];
    x[r] = v / m[r][r];
  }
  return [x[0], x[1], x[2]];
}

/**
 * Huber penalty of a residual r with threshold δ: r²/2 for |r| ≤ δ, δ·(|r| − δ/2) beyond (scipy.special.huber).
 * Returns the value; `huberGrad` returns its derivative.
 */
export function huber(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

/** Derivative of {@link huber} with respect to r. */
export function huberGrad(r: number, delta: number): number {
  return r > delta ? delta : r < -delta ? -delta : r;
}
