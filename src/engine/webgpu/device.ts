/// <reference types="@webgpu/types" />
/**
 * Opening a WebGPU device through Dawn (the npm package `webgpu`, whose prebuilt `dawn.node` drives Vulkan on
 * Linux), and the one error class every failure of the webgpu backend throws: no adapter, a lost device, a model
 * beyond the device's buffer limits, out of memory. Each message is one line that names the fix.
 */
import { BackendUnavailableError } from "../errors.js";
import { isNode } from "../threads.js";

/** What went wrong on the GPU side; the message names the fix. */
export type WebGpuErrorKind = "no-adapter" | "device-lost" | "limits" | "out-of-memory" | "validation";

/**
 * A failure of the webgpu backend. It is a {@link BackendUnavailableError}, so the CLI prints it as one line
 * (exit status 2) like any other unavailable backend.
 */
export class WebGpuError extends BackendUnavailableError {
  /** Which failure this is. */
  readonly kind: WebGpuErrorKind;
  constructor(kind: WebGpuErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Limits the backend asks for (the adapter's maxima) and then checks allocations and dispatches against. */
export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
  minUniformBufferOffsetAlignment: number;
  maxComputeWorkgroupStorageSize: number;
}

/** An open device plus the objects that must stay alive while it is used. */
export interface OpenDevice {
  /** The `navigator.gpu`-like object from `create()`: Dawn crashes if it is garbage-collected mid-work. */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  limits: DeviceLimits;
  /** "vendor architecture (description)" for logs. */
  description: string;
}

/** The fix to print when no adapter is found. */
const NO_ADAPTER_FIX =
  "install a Vulkan driver (NVIDIA: the proprietary driver with its Vulkan ICD; no GPU: apt-get install -y -t bookworm-backports " +
  "mesa-vulkan-drivers libvulkan1 for the lavapipe software driver), or use --backend native or wasm";

/** Dawn options from SCALING_LAB_DAWN_FLAGS: `create()` strings separated by ";", e.g. "enable-dawn-features=disable_robustness". */
function dawnFlags(): string[] {
  const raw = process.env.SCALING_LAB_DAWN_FLAGS;
  if (!raw) return [];
  return raw.split(";").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Opens the default high-performance adapter and a device with the adapter's maximum buffer limits.
 * Throws {@link WebGpuError} ("no-adapter") with a one-line fix when there is none.
 */
export async function openDevice(): Promise<OpenDevice> {
  const gpu = await gpuEntry();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    throw new WebGpuError("no-adapter", `no WebGPU adapter (${firstLine(e)}); fix: ${NO_ADAPTER_FIX}`);
  }
  if (!adapter) {
    if (!isNode()) throw new WebGpuError("no-adapter", "the browser offers no WebGPU adapter (GPU disabled or blocklisted); fix: enable the GPU, or use the wasm backend");
    throw new WebGpuError("no-adapter", `no WebGPU adapter found (no usable Vulkan driver); fix: ${NO_ADAPTER_FIX}`);
  }
  const a = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: a.maxBufferSize,
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
    },
  });
  const d = device.limits;
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description ? `(${info.description})` : ""]
    .filter((s) => s && s.length > 0)
    .join(" ") || "unknown adapter";
  return {
    gpu,
    adapter,
    device,
    description,
    limits: {
      maxBufferSize: d.maxBufferSize,
      maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
      minUniformBufferOffsetAlignment: d.minUniformBufferOffsetAlignment,
      maxComputeWorkgroupStorageSize: d.maxComputeWorkgroupStorageSize,
    },
  };
}

/** The `navigator.gpu` of a browser, or in Node the one Dawn's `create()` returns; a one-line WebGpuError without one. */
async function gpuEntry(): Promise<GPU> {
  if (!isNode()) {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (!gpu) throw new WebGpuError("no-adapter", "this browser has no WebGPU (navigator.gpu is missing); fix: a recent Chrome, Edge or Safari, or the wasm backend");
    return gpu;
  }
  let mod: { create(flags: string[]): GPU };
  try {
    const name = "webgpu";
    mod = (await import(name)) as { create(flags: string[]): GPU };
  } catch (e) {
    throw new WebGpuError(
      "no-adapter",
      `the webgpu backend cannot load Dawn (${firstLine(e)}); fix: npm install (the "webgpu" package ships dawn.node for linux-x64, darwin and win32), or use --backend native or wasm`,
    );
  }
  try {
    return mod.create(dawnFlags());
  } catch (e) {
    throw new WebGpuError("no-adapter", `no WebGPU adapter (${firstLine(e)}); fix: ${NO_ADAPTER_FIX}`);
  }
}

/** The first line of an error's message (Dawn messages can span many lines). */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n").map((s) => s.trim()).find((s) => s.length > 0) ?? "unknown error";
}
