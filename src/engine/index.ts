/**
 * Backend selection: `createBackend("auto")` prefers the native addon and falls back to the portable wasm backend
 * (the js backend where the runtime has no WebAssembly SIMD) with a one-line notice on stderr; `"native"`, `"wasm"`,
 * `"js"` and `"webgpu"` (a GPU through WebGPU) ask for one explicitly.
 */
import type { AnyBackend } from "./backend.js";
import { BackendUnavailableError } from "./errors.js";
import { JsBackend } from "./js.js";
import { createWasmBackend } from "./wasm.js";
import { wasmSimdAvailable } from "./wasm-gemm.js";
import { capThreads } from "../util/threads.js";

export type { AdamWStep, AnyBackend, Backend, BackendInfo } from "./backend.js";
export { JsBackend, clipScale } from "./js.js";
export { WasmBackend, createWasmBackend } from "./wasm.js";

/** Backend names a user can pass to `--backend`. */
export const BACKEND_NAMES = ["auto", "native", "wasm", "js", "webgpu"] as const;
/** A backend name (see {@link BACKEND_NAMES}). */
export type BackendName = (typeof BACKEND_NAMES)[number];

export { BackendUnavailableError } from "./errors.js";

interface NativeModule {
  loadNativeBackend(opts?: { threads?: number }): AnyBackend | Error;
}

let nativeNoticeShown = false;

/**
 * Creates a backend by name. `auto` tries `native` and falls back to `wasm`, or `js` without WebAssembly SIMD
 * (printing one line to stderr once); `native` throws {@link BackendUnavailableError} when the addon cannot load,
 * `wasm` when the runtime has no WebAssembly SIMD, `webgpu` when no GPU adapter exists.
 */
export async function createBackend(name: string = "auto", optsGiven: { threads?: number; quiet?: boolean } = {}): Promise<AnyBackend> {
  // never more threads than this machine has (a thread count from a flag or another machine's config)
  const opts = { ...optsGiven, threads: capThreads(optsGiven.threads) };
  if (name === "js") return new JsBackend();
  if (name === "wasm") return createWasmBackend(opts.threads); // no WebAssembly SIMD: a BackendUnavailableError
  if (name === "webgpu") {
    const modPath = "./webgpu/backend.js";
    const mod = (await import(modPath)) as { createWebGpuBackend(): Promise<AnyBackend> };
    return mod.createWebGpuBackend();
  }
  if (name !== "native" && name !== "auto") {
    throw new BackendUnavailableError(`unknown backend "${name}" (use one of: ${BACKEND_NAMES.join(", ")})`);
  }
  let loaded: AnyBackend | Error;
  try {
    const modPath = "./native.js";
    const mod = (await import(modPath)) as NativeModule;
    loaded = mod.loadNativeBackend({ threads: opts.threads });
  } catch (e) {
    loaded = e as Error;
  }
  if (!(loaded instanceof Error)) return loaded;
  const why = loaded.message.split("\n")[0];
  if (name === "native") {
    throw new BackendUnavailableError(
      `the native backend is unavailable: ${why} (fix: apt-get install -y build-essential libopenblas-dev && npm rebuild, or use --backend wasm)`,
    );
  }
  const portable = wasmSimdAvailable() ? "wasm" : "js";
  if (!nativeNoticeShown && !opts.quiet) {
    nativeNoticeShown = true;
    process.stderr.write(`scaling-lab: native backend unavailable (${why}); using the portable ${portable} backend\n`);
  }
  return portable === "wasm" ? createWasmBackend(opts.threads) : new JsBackend();
}
