/// <reference types="@webgpu/types" />
/**
 * The WebGPU runtime under the webgpu backend: GPU buffers and the (buffer, offset, length) handles over them,
 * kernels (WGSL compute shaders) compiled on first use, and a recorder that puts every dispatch of a step into one
 * compute pass with its parameters in a uniform ring (one dynamic offset per dispatch). Nothing is submitted until a
 * host read (or a host write into a buffer that pending work uses) needs it, so a training step is a handful of
 * queue submissions, and only the batch goes up and the loss and gradient norm come down.
 *
 * Kernels bind whole buffers and take element offsets as uniform parameters, so views need no alignment. Two
 * handles over the same buffer passed to one dispatch share one binding (WebGPU forbids a buffer bound twice when
 * one binding writes it): each kernel's WGSL is generated per aliasing pattern.
 * SCALING_LAB_WEBGPU_DUMP=DIR writes every generated shader to DIR (for debugging and profiling).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DeviceLimits, type OpenDevice, WebGpuError, firstLine } from "./device.js";

// GPUBufferUsage / GPUMapMode flag values (WebGPU spec constants), so the Dawn globals need not be installed.
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_UNIFORM = 0x0040;
const USAGE_STORAGE = 0x0080;
const MAP_READ = 0x0001;

/** Element type of a kernel's storage binding. */
export type ElemType = "f32" | "vec4f" | "i32";

/** One storage tensor a kernel reads or writes. */
export interface TensorSlot {
  name: string;
  type: ElemType;
  write: boolean;
}

/** A WGSL compute kernel: its storage tensors, its uniform parameters, and its body. */
export interface KernelDef {
  /** Unique name (also the pipeline cache key, with the aliasing pattern). */
  name: string;
  tensors: TensorSlot[];
  /** Uniform parameters in order: name and scalar type. Read in WGSL as `p.NAME`. */
  params: [string, "u32" | "f32" | "i32"][];
  /**
   * WGSL after the declarations: constants, workgroup variables and `@compute fn main`. `t` maps each tensor name
   * to the storage variable that holds it (two tensors over one buffer get the same variable).
   */
  body: (t: Record<string, string>) => string;
}

/** A GPU buffer owned by the runtime. */
export class GpuStore {
  /** Serial of the last unsubmitted command batch that used it (-1: none). */
  lastUse = -1;
  constructor(
    readonly id: number,
    readonly buffer: GPUBuffer,
    /** Size in 4-byte elements (rounded up to a multiple of 4 so vec4 bindings cover every element). */
    readonly elements: number,
  ) {}
}

/** A float tensor handle: a window of a GPU buffer. */
export interface GpuTensor {
  readonly store: GpuStore;
  /** First element. */
  readonly offset: number;
  /** Number of elements. */
  readonly length: number;
}

/** An int32 tensor handle, with a host copy of what was last written (the encoder's backward sorts ids on the host). */
export interface GpuIntTensor extends GpuTensor {
  /** The ids last written by `writeInt`. */
  host: Int32Array;
  /** Bumped on every write, so derived data (token buckets) can be cached per write. */
  version: number;
}

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Bytes of one uniform slot (64 scalars). */
const SLOT_SCALARS = 64;
/** Uniform slots per submission; the recorder flushes when they run out. */
const RING_SLOTS = 4096;
/** Bind groups kept before the cache is cleared (they are cheap to remake). */
const MAX_BIND_GROUPS = 8192;

/** Compiles kernels, records dispatches, moves data. One per backend instance. */
export class Runtime {
  readonly device: GPUDevice;
  readonly limits: DeviceLimits;
  readonly description: string;
  /** Held for the device's lifetime: Dawn must not see the `create()` object collected while it works. */
  private readonly keepAlive: OpenDevice;
  private readonly queue: GPUQueue;
  private readonly uniform: GPUBuffer;
  private readonly slotBytes: number;
  private readonly ring: ArrayBuffer;
  private readonly ringU32: Uint32Array;
  private readonly ringI32: Int32Array;
  private readonly ringF32: Float32Array;
  private slot = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private serial = 0;
  private nextId = 1;
  private readonly pipelines = new Map<string, Pipeline>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private readonly offsets = new Uint32Array(1);
  private readonly stagingPool: GPUBuffer[] = [];
  private lostMessage: string | null = null;
  private errorMessage: string | null = null;
  private rootError = false;
  private disposed = false;
  /** Dispatches recorded so far (for tests and benchmarks). */
  dispatchCount = 0;
  /** Queue submissions so far. */
  submitCount = 0;

  constructor(open: OpenDevice) {
    this.keepAlive = open;
    this.device = open.device;
    this.limits = open.limits;
    this.description = open.description;
    this.queue = this.device.queue;
    this.slotBytes = Math.max(SLOT_SCALARS * 4, this.limits.minUniformBufferOffsetAlignment);
    this.ring = new ArrayBuffer(this.slotBytes * RING_SLOTS);
    this.ringU32 = new Uint32Array(this.ring);
    this.ringI32 = new Int32Array(this.ring);
    this.ringF32 = new Float32Array(this.ring);
    this.uniform = this.device.createBuffer({ size: this.ring.byteLength, usage: USAGE_UNIFORM | USAGE_COPY_DST });
    this.device.lost.then((info) => {
      if (this.disposed) return;
      this.lostMessage = `${info.reason}${info.message ? ": " + firstLine(info.message) : ""}`;
    }, () => undefined);
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.recordError(ev.error);
    };
  }

  /** Keeps the first device error; a shader or pipeline error (`root`) replaces the follow-up errors it causes. */
  private recordError(error: GPUError, root = false): void {
    if (this.errorMessage !== null && !(root && !this.rootError)) return;
    const kind = (error as { constructor?: { name?: string } }).constructor?.name ?? "GPUError";
    this.errorMessage = `${kind}: ${firstLine(error.message)}`;
    this.rootError = root;
  }

  /** Throws the pending device-lost or device error, if any, as a one-line {@link WebGpuError}. */
  check(): void {
    if (this.disposed) throw new WebGpuError("device-lost", "the webgpu backend was disposed; fix: create a new backend");
    if (this.lostMessage !== null) {
      throw new WebGpuError(
        "device-lost",
        `the GPU device was lost (${this.lostMessage}); checkpoints already written are kept — fix: check the GPU driver (nvidia-smi, dmesg), then rerun with --resume, or use --backend native`,
      );
    }
    if (this.errorMessage !== null) {
      const oom = /out of memory|OutOfMemory|allocat/i.test(this.errorMessage);
      throw new WebGpuError(
        oom ? "out-of-memory" : "validation",
        oom
          ? `the GPU ran out of memory (${this.errorMessage}); fix: a smaller --micro-batch or model, or --backend native`
          : `the GPU rejected a command (${this.errorMessage}); fix: report this bug, and use --backend native meanwhile`,
      );
    }
  }

  // ------------------------------------------------------------------ memory

  /** A new zero-filled buffer of `n` 4-byte elements; throws a one-line "limits" error when it cannot be bound. */
  createStore(n: number, what = "tensor"): GpuStore {
    this.check();
    const elements = Math.max(4, Math.ceil(n / 4) * 4);
    const bytes = elements * 4;
    const limit = Math.min(this.limits.maxBufferSize, this.limits.maxStorageBufferBindingSize);
    if (bytes > limit) {
      throw new WebGpuError(
        "limits",
        `a ${what} of ${n.toLocaleString("en-US")} floats (${(bytes / 2 ** 20).toFixed(0)} MiB) exceeds this GPU's storage buffer limit of ${(limit / 2 ** 20).toFixed(0)} MiB; ` +
          `fix: a smaller model or micro-batch (--micro-batch), or --backend native`,
      );
    }
    this.device.pushErrorScope("out-of-memory");
    const buffer = this.device.createBuffer({ size: bytes, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    this.device.popErrorScope().then((err) => {
      if (err) this.recordError(err);
    }, () => undefined);
    return new GpuStore(this.nextId++, buffer, elements);
  }

  /** Copies host data into `dst` at element `offset` (relative to the handle). */
  write(dst: GpuTensor, src: ArrayBufferView & { length: number }, offset = 0): void {
    this.check();
    if (offset < 0 || offset + src.length > dst.length) {
      throw new RangeError(`write of ${src.length} elements at ${offset} is outside a tensor of ${dst.length}`);
    }
    if (src.length === 0) return;
    // Recorded work runs after this write unless it is submitted first.
    if (dst.store.lastUse === this.serial && this.encoder) this.flush();
    this.queue.writeBuffer(dst.store.buffer, (dst.offset + offset) * 4, src.buffer, src.byteOffset, src.length * 4);
  }

  /** Reads `src` back to the host (submits pending work first). */
  async read(src: GpuTensor): Promise<Float32Array> {
    this.check();
    this.flush();
    const bytes = src.length * 4;
    if (bytes === 0) return new Float32Array(0);
    const small = bytes <= 1 << 16;
    const staging = (small ? this.stagingPool.pop() : undefined) ??
      this.device.createBuffer({ size: small ? 1 << 16 : bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src.store.buffer, src.offset * 4, staging, 0, bytes);
    this.queue.submit([enc.finish()]);
    this.submitCount++;
    try {
      await staging.mapAsync(MAP_READ, 0, bytes);
    } catch (e) {
      await new Promise((r) => setTimeout(r, 10)); // let a pending device-lost notice arrive
      this.check();
      throw new WebGpuError("validation", `reading a GPU buffer failed (${firstLine(e)}); fix: report this bug, and use --backend native meanwhile`);
    }
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    if (small) this.stagingPool.push(staging);
    else staging.destroy();
    this.check();
    return out;
  }

  // ------------------------------------------------------------------ kernels

  private pipelineFor(def: KernelDef, pattern: number[], bindings: number): Pipeline {
    const key = def.name + "|" + pattern.join(",");
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    // one storage variable per distinct buffer; its type and access come from the tensors sharing it
    const types: ElemType[] = [];
    const writes: boolean[] = [];
    const names: Record<string, string> = {};
    def.tensors.forEach((t, i) => {
      const b = pattern[i];
      if (types[b] === undefined) {
        types[b] = t.type;
        writes[b] = t.write;
      } else {
        if (types[b] !== t.type) throw new Error(`kernel ${def.name}: tensors of types ${types[b]} and ${t.type} share one buffer`);
        writes[b] = writes[b] || t.write;
      }
      names[t.name] = `buf${b}`;
    });
    const wgslType = { f32: "f32", vec4f: "vec4<f32>", i32: "i32" };
    const fields = def.params.map(([n, ty]) => `  ${n}: ${ty},`).join("\n");
    const decls = types
      .map((ty, b) => `@group(0) @binding(${b + 1}) var<storage, ${writes[b] ? "read_write" : "read"}> buf${b}: array<${wgslType[ty]}>;`)
      .join("\n");
    const code = `struct Params {\n${fields}\n  _pad: u32,\n}\n@group(0) @binding(0) var<uniform> p: Params;\n${decls}\n${def.body(names)}`;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: this.slotBytes } },
    ];
    for (let b = 0; b < bindings; b++) {
      entries.push({ binding: b + 1, visibility: 4, buffer: { type: writes[b] ? "storage" : "read-only-storage" } });
    }
    if (typeof process === "object" && process.env?.SCALING_LAB_WEBGPU_DUMP) writeFileSync(join(process.env.SCALING_LAB_WEBGPU_DUMP, `${key.replace(/[^a-z0-9_]+/gi, "_")}.wgsl`), code);
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code, label: def.name });
    const layout = this.device.createBindGroupLayout({ entries, label: def.name });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: def.name,
    });
    this.device.popErrorScope().then((err) => {
      if (err) this.recordError(err, true);
    }, () => undefined);
    const made = { pipeline, layout };
    this.pipelines.set(key, made);
    return made;
  }

  /**
   * Records one dispatch of `def` over `tensors` (in the order of `def.tensors`) with uniform `params` and a grid
   * of workgroups. Nothing runs until the next submission.
   */
  dispatch(def: KernelDef, tensors: GpuTensor[], params: ArrayLike<number>, gx: number, gy = 1, gz = 1): void {
    this.check();
    if (gx === 0 || gy === 0 || gz === 0) return;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxDim || gy > maxDim || gz > maxDim) {
      throw new WebGpuError(
        "limits",
        `kernel ${def.name} needs a grid of ${gx}×${gy}×${gz} workgroups, over this GPU's ${maxDim} per dimension; fix: a smaller micro-batch (--micro-batch) or model`,
      );
    }
    // aliasing pattern: tensors over one buffer share a binding
    const pattern: number[] = [];
    const stores: GpuStore[] = [];
    let key = def.name;
    for (const t of tensors) {
      let b = stores.indexOf(t.store);
      if (b < 0) {
        b = stores.length;
        stores.push(t.store);
      }
      pattern.push(b);
    }
    const pipe = this.pipelineFor(def, pattern, stores.length);
    key += "|" + pattern.join(",") + "|" + stores.map((s) => s.id).join(",");
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups = new Map();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniform, offset: 0, size: this.slotBytes } }];
      stores.forEach((s, b) => entries.push({ binding: b + 1, resource: { buffer: s.buffer } }));
      group = this.device.createBindGroup({ layout: pipe.layout, entries });
      this.bindGroups.set(key, group);
    }
    if (this.slot >= RING_SLOTS) this.flush();
    // pack the uniforms
    const base = (this.slot * this.slotBytes) / 4;
    const kinds = def.params;
    for (let i = 0; i < kinds.length; i++) {
      const ty = kinds[i][1];
      const v = params[i];
      if (ty === "f32") this.ringF32[base + i] = v;
      else if (ty === "i32") this.ringI32[base + i] = v;
      else this.ringU32[base + i] = v;
    }
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    const pass = this.pass!;
    pass.setPipeline(pipe.pipeline);
    this.offsets[0] = this.slot * this.slotBytes;
    pass.setBindGroup(0, group, this.offsets, 0, 1);
    pass.dispatchWorkgroups(gx, gy, gz);
    for (const s of stores) s.lastUse = this.serial;
    this.slot++;
    this.dispatchCount++;
  }

  /** Submits everything recorded so far (with its uniforms). */
  flush(): void {
    if (!this.encoder) return;
    this.pass!.end();
    const cmd = this.encoder.finish();
    this.queue.writeBuffer(this.uniform, 0, this.ring, 0, this.slot * this.slotBytes);
    this.queue.submit([cmd]);
    this.encoder = null;
    this.pass = null;
    this.slot = 0;
    this.serial++;
    this.submitCount++;
  }

  /** Waits until the GPU has finished all submitted work. */
  async finish(): Promise<void> {
    this.flush();
    await this.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Destroys the device (outstanding handles become unusable). */
  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch {
      // a lost device cannot take more work; destroying it is all that is left
    }
    this.disposed = true;
    for (const s of this.stagingPool) s.destroy();
    this.stagingPool.length = 0;
    this.bindGroups.clear();
    this.pipelines.clear();
    this.device.destroy();
  }

  /** Destroys the device without marking the runtime disposed: the next call reports a lost device (tests). */
  simulateDeviceLoss(): void {
    this.device.destroy();
  }
}

/**
 * A 2-D grid covering `n` workgroups within the per-dimension limit; shaders recover the linear index as
 * `wid.x + wid.y * nwg.x` and skip indices ≥ n.
 */
export function grid2d(n: number, maxDim: number): [number, number] {
  if (n <= maxDim) return [n, 1];
  const y = Math.ceil(n / maxDim);
  return [Math.ceil(n / y), y];
}
