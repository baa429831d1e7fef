/**
 * Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Algorithms 7.4–7.5) with a
 * line search that enforces the strong Wolfe conditions (Algorithms 3.5–3.6: bracketing, then "zoom" with
 * safeguarded cubic interpolation). Pure TypeScript, no dependencies.
 *
 * Why our own and not an npm package: the fits need a few hundred lines of well-understood numerics, run
 * thousands of times per bootstrap inside worker threads, and must be deterministic; the npm optimisers we
 * know of are either unmaintained, lack a Wolfe line search, or pull in large numeric stacks.
 */

/** An objective: returns f(x) and writes ∇f(x) into `grad` (same length as x). */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options for {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Maximum iterations (default 500). */
  maxIterations?: number;
  /** Number of correction pairs kept (default 10). */
  memory?: number;
  /** Stop when ‖∇f‖∞ ≤ gradTol (default 1e-9). */
  gradTol?: number;
  /** Stop when f_prev − f ≤ fTol · max(|f_prev|, |f|, 1) (default 1e-12). */
  fTol?: number;
  /** Sufficient-decrease constant c1 of the Wolfe conditions (default 1e-4). */
  c1?: number;
  /** Curvature constant c2 of the strong Wolfe conditions (default 0.9). */
  c2?: number;
  /** Maximum function evaluations per line search (default 30). */
  maxLineSearch?: number;
}

/** Result of {@link minimizeLbfgs}. */
export interface LbfgsResult {
  /** The best point found. */
  x: Float64Array;
  /** f at x. */
  f: number;
  /** ∇f at x. */
  grad: Float64Array;
  /** Iterations taken. */
  iterations: number;
  /** Objective evaluations. */
  evaluations: number;
  /** Why it stopped: "gradient", "ftol", "max-iterations", "line-search" or "non-finite". */
  reason: "gradient" | "ftol" | "max-iterations" | "line-search" | "non-finite";
}

interface Trial {
  alpha: number;
  f: number;
  dphi: number;
}

/**
 * Minimises `fn` from `x0` with L-BFGS and a strong-Wolfe line search. Never throws on numerical trouble:
 * it returns the best point reached and the reason it stopped.
 * @example minimizeLbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; }, [0]).x[0] // ≈ 3
 */
export function minimizeLbfgs(fn: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const maxIter = opts.maxIterations ?? 500;
  const m = opts.memory ?? 10;
  const gradTol = opts.gradTol ?? 1e-9;
  const fTol = opts.fTol ?? 1e-12;
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;
  const maxLs = opts.maxLineSearch ?? 30;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let evaluations = 1;
  let f = fn(x, g);
  if (!Number.isFinite(f) || !allFinite(g)) {
    return { x, f, grad: g, iterations: 0, evaluations, reason: "non-finite" };
  }

  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphaBuf = new Float64Array(m);
  const p = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const xTry = new Float64Array(n);
  const gTry = new Float64Array(n);

  let iterations = 0;
  let reason: LbfgsResult["reason"] = "max-iterations";
  let restarted = false;

  for (; iterations < maxIter; iterations++) {
    if (normInf(g) <= gradTol) {
      reason = "gradient";
      break;
    }
    // Two-loop recursion: p = −H·g.
    for (let i = 0; i < n; i++) p[i] = -g[i];
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j] * dot(S[j], p);
      alphaBuf[j] = a;
      axpy(-a, Y[j], p);
    }
    if (k > 0) {
      const yy = dot(Y[k - 1], Y[k - 1]);
      const gamma = yy > 0 ? 1 / (rho[k - 1] * yy) : 1;
      for (let i = 0; i < n; i++) p[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j] * dot(Y[j], p);
      axpy(alphaBuf[j] - b, S[j], p);
    }
    let dphi0 = dot(g, p);
    if (!(dphi0 < 0)) {
      // Not a descent direction (numerical trouble): fall back to steepest descent.
      for (let i = 0; i < n; i++) p[i] = -g[i];
      dphi0 = dot(g, p);
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
    }
    const alphaInit = S.length === 0 ? Math.min(1, 1 / Math.max(norm2(g), 1e-300)) : 1;

    // Evaluates φ(α) = f(x + α·p) into xTry/gTry.
    const evalAt = (alpha: number): Trial => {
      for (let i = 0; i < n; i++) xTry[i] = x[i] + alpha * p[i];
      evaluations++;
      const fa = fn(xTry, gTry);
      const ok = Number.isFinite(fa) && allFinite(gTry);
      return { alpha, f: ok ? fa : Infinity, dphi: ok ? dot(gTry, p) : NaN };
    };
    let accepted: Trial | undefined;
    const keep = (t: Trial) => {
      accepted = t;
      xNew.set(xTry);
      gNew.set(gTry);
    };
    // Best sufficient-decrease point seen, in case the curvature condition never holds.
    let fallback: Trial | undefined;
    const noteFallback = (t: Trial) => {
      if (Number.isFinite(t.f) && t.f < f + c1 * t.alpha * dphi0 && (!fallback || t.f < fallback.f)) {
        fallback = t;
      }
    };

    let prev: Trial = { alpha: 0, f, dphi: dphi0 };
    let alpha = alphaInit;
    let lsEvals = 0;
    const zoom = (loIn: Trial, hiIn: Trial): void => {
      let lo = loIn;
      let hi = hiIn;
      while (lsEvals < maxLs) {
        const aj = interpolate(lo, hi);
        const t = evalAt(aj);
        lsEvals++;
        noteFallback(t);
        if (t.f > f + c1 * aj * dphi0 || t.f >= lo.f) {
          hi = t;
        } else {
          if (Math.abs(t.dphi) <= -c2 * dphi0) {
            keep(t);
            return;
          }
          if (t.dphi * (hi.alpha - lo.alpha) >= 0) hi = lo;
          lo = t;
        }
        if (Math.abs(hi.alpha - lo.alpha) <= 1e-16 * Math.max(1, Math.abs(lo.alpha))) return;
      }
    };
    while (lsEvals < maxLs) {
      const t = evalAt(alpha);
      lsEvals++;
      noteFallback(t);
      if (t.f > f + c1 * alpha * dphi0 || (prev.alpha > 0 && t.f >= prev.f)) {
        zoom(prev, t);
        break;
      }
      if (Math.abs(t.dphi) <= -c2 * dphi0) {
        keep(t);
        break;
      }
      if (t.dphi >= 0) {
        zoom(t, prev);
        break;
      }
      prev = t;
      alpha *= 2.5;
    }
    if (!accepted && fallback) {
      // Re-evaluate the best sufficient-decrease point so xNew/gNew hold it.
      keep(evalAt(fallback.alpha));
    }
    if (!accepted) {
      if (!restarted && S.length > 0) {
        // Drop the curvature memory and retry once with steepest descent.
        S.length = 0;
        Y.length = 0;
        rho.length = 0;
        restarted = true;
        iterations--;
        continue;
      }
      reason = "line-search";
      break;
    }
    restarted = false;
    const fNew = accepted.f;
    // Curvature pair.
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-300 && sy > 1e-12 * norm2(s) * norm2(y)) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const fPrev = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    if (fPrev - f <= fTol * Math.max(Math.abs(fPrev), Math.abs(f), 1)) {
      iterations++;
      reason = "ftol";
      break;
    }
  }
  return { x, f, grad: g, iterations, evaluations, reason };
}

/** Safeguarded cubic interpolation of the minimiser between two trials (falls back to bisection). */
function interpolate(lo: Trial, hi: Trial): number {
  const a = lo.alpha;
  const b = hi.alpha;
  const lower = Math.min(a, b);
  const upper = Math.max(a, b);
  const width = upper - lower;
  if (Number.isFinite(lo.f) && Number.isFinite(hi.f) && Number.isFinite(lo.dphi) && Number.isFinite(hi.dphi)) {
    const d1 = lo.dphi + hi.dphi - (3 * (lo.f - hi.f)) / (a - b);
    const disc = d1 * d1 - lo.dphi * hi.dphi;
    if (disc >= 0) {
      const d2 = Math.sign(b - a) * Math.sqrt(disc);
      const z = b - (b - a) * ((hi.dphi + d2 - d1) / (hi.dphi - lo.dphi + 2 * d2));
      if (Number.isFinite(z) && z > lower + 0.1 * width && z < upper - 0.1 * width) return z;
    }
  }
  return lower + 0.5 * width;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}

function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function normInf(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
