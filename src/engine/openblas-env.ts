/**
 * Picks `OPENBLAS_CORETYPE` for CPUs that Debian's OpenBLAS 0.3.21 mis-detects (recent AMD Zen and Intel cores
 * fall back to Haswell or older kernels), so the native addon gets the AVX-512 sgemm kernels where the CPU has them.
 * The variable must be set before libopenblas is loaded, i.e. before the addon is required.
 */
import { readFileSync } from "node:fs";

/** What {@link applyOpenBlasCoreType} decided. */
export interface OpenBlasCoreChoice {
  /** The value in effect after the call (undefined: OpenBLAS detects the CPU itself). */
  coretype: string | undefined;
  /** "user" when the environment already had it, "cpuinfo" when chosen here, "none" when left unset. */
  source: "user" | "cpuinfo" | "none";
}

/**
 * The OpenBLAS core for a /proc/cpuinfo text: AVX-512 with bf16 → Cooperlake, AVX-512 → SkylakeX, AVX2 → Haswell,
 * otherwise undefined (let OpenBLAS decide).
 */
export function openBlasCoreForCpuinfo(cpuinfo: string): string | undefined {
  const line = cpuinfo.split("\n").find((l) => /^flags\s*:/.test(l));
  if (!line) return undefined;
  const flags = new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
  if (flags.has("avx512f")) return flags.has("avx512_bf16") ? "Cooperlake" : "SkylakeX";
  if (flags.has("avx2")) return "Haswell";
  return undefined;
}

/**
 * Sets `env.OPENBLAS_CORETYPE` from /proc/cpuinfo unless it is already set (a user's choice always wins).
 * Harmless on machines without /proc/cpuinfo (macOS, Windows): nothing is set.
 */
export function applyOpenBlasCoreType(
  env: NodeJS.ProcessEnv = process.env,
  readCpuinfo: () => string = () => readFileSync("/proc/cpuinfo", "utf8"),
): OpenBlasCoreChoice {
  const existing = env.OPENBLAS_CORETYPE;
  if (existing !== undefined && existing !== "") return { coretype: existing, source: "user" };
  let cpuinfo: string;
  try {
    cpuinfo = readCpuinfo();
  } catch {
    return { coretype: undefined, source: "none" };
  }
  const core = openBlasCoreForCpuinfo(cpuinfo);
  if (core === undefined) return { coretype: undefined, source: "none" };
  env.OPENBLAS_CORETYPE = core;
  return { coretype: core, source: "cpuinfo" };
}
