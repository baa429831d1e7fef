/**
 * The GPT-2/GPT-3 model over a {@link Backend}: token + learned position embeddings, nLayer pre-LN blocks
 * (fused-qkv causal multi-head attention, 4× GELU(tanh) MLP, biases everywhere), a final LayerNorm and an output
 * head tied to the token embedding. With `localWindow` W > 0, odd layers use GPT-3's locally banded attention
 * (each position sees the last W keys) and even layers stay dense. llm.c style: all parameters in one flat buffer
 * (gradients and AdamW moments likewise), activations preallocated for a (B, T) capacity, and each layer's forward
 * and backward written as a pair of backend kernel calls. Parameter names match reference/gpt-tiny (PyTorch layout, weight (out, in)).
 */
import { type AdamWStep, type AnyBackend, attentionWidth } from "../engine/backend.js";
import { Rng } from "../util/rng.js";
import { type GPTConfig, layerWindow, validateConfig } from "./config.js";

/** One named parameter tensor inside the flat parameter buffer. */
export interface ParamSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Weight decay applies to 2-D tensors only (matrices and embeddings), as in GPT-3 / nanoGPT. */
  decay: boolean;
}

/** Bad input to the model (shapes, token ids, sequence length); the message names the fix. */
export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelInputError";
  }
}

/**
 * The parameter layout of a config, in the reference order: wte, wpe, per layer ln1, qkv, attnproj, ln2, fc, fcproj,
 * then lnf. The sum of sizes is the model's total parameter count.
 */
export function paramLayout(config: GPTConfig): ParamSpec[] {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C } = config;
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, decay: shape.length >= 2 });
    offset += size;
  };
  add("wte", [V, C]);
  add("wpe", [T, C]);
  for (let l = 0; l < L; l++) {
    const p = `h${l}_`;
    add(p + "ln1_w", [C]);
    add(p + "ln1_b", [C]);
    add(p + "qkv_w", [3 * C, C]);
    add(p + "qkv_b", [3 * C]);
    add(p + "attnproj_w", [C, C]);
    add(p + "attnproj_b", [C]);
    add(p + "ln2_w", [C]);
    add(p + "ln2_b", [C]);
    add(p + "fc_w", [4 * C, C]);
    add(p + "fc_b", [4 * C]);
    add(p + "fcproj_w", [C, 4 * C]);
    add(p + "fcproj_b", [C]);
  }
  add("lnf_w", [C]);
  add("lnf_b", [C]);
  return specs;
}

/** Hyper-parameters of one optimizer step (AdamW with decoupled weight decay and global-norm clipping). */
export interface OptimizerHParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. */
  maxNorm: number;
}

/** Per-layer views of the parameters (or gradients) of one block. */
interface LayerTensors<F> {
  ln1w: F; ln1b: F; qkvw: F; qkvb: F; attprojw: F; attprojb: F;
  ln2w: F; ln2b: F; fcw: F; fcb: F; fcprojw: F; fcprojb: F;
}

interface Tensors<F> {
  wte: F;
  wpe: F;
  layers: LayerTensors<F>[];
  lnfw: F;
  lnfb: F;
}

/** Saved activations of one block. */
interface LayerActs<F> {
  ln1: F; ln1Mean: F; ln1Rstd: F; // (B,T,C), (B,T), (B,T)
  qkv: F; // (B,T,3C)
  atty: F; // (B,T,C) attention output before the projection
  att: F; // (B,NH,T,T) dense, (B,NH,T,W) banded: see Backend.attentionForward
  attproj: F; // (B,T,C)
  residual2: F; // (B,T,C) x + attn
  ln2: F; ln2Mean: F; ln2Rstd: F;
  fch: F; // (B,T,4C)
  fchGelu: F; // (B,T,4C)
  fcproj: F; // (B,T,C)
  residual3: F; // (B,T,C) block output
}

interface Acts<F, I> {
  capBT: number; // B*T capacity
  capAtt: number; // B*NH*T*T capacity (dense attention)
  capBand: number; // B*NH*T*min(T,W) capacity (banded attention; equal to capAtt without a window)
  inputs: I; // (B,T)
  targets: I; // (B,T)
  encoded: F; // (B,T,C)
  layers: LayerActs<F>[];
  lnf: F; lnfMean: F; lnfRstd: F; // (B,T,C)
  logits: F | null; // (B,T,V), made when needed: a forward without targets, or a backend whose classifier needs it
  losses: F; // (B,T)
  // backward scratch
  dresid: F; // (B,T,C) gradient of the residual stream
  dln: F; // (B,T,C) gradient of a LayerNorm output
  datty: F; // (B,T,C)
  dqkv: F; // (B,T,3C)
  dfch: F; // (B,T,4C)
  dattScratch: F; // (B,NH,T,T)
}

/** A key/value cache of one sequence (see {@link GPT.newCache}, {@link GPT.decode}). */
export interface KvCache<F> {
  /** Positions cached so far. */
  length: number;
  /** Per layer, the q, k, v rows (blockSize, 3C). */
  qkv: F[];
  inputs: object;
  x: F; ln: F; mean: F; rstd: F; atty: F; proj: F; fch: F; fchGelu: F;
  /** (V) logits of the last position fed. */
  logits: F;
}

/** Options of {@link GPT.forward}. */
export interface ForwardOptions {
  /**
   * Run the output head's backward inside the forward, for a `backward(gradScale)` that follows (the training
   * step's fast path: the head's logits are used while they are still in the cache). Call `zeroGrad` before the
   * forward, not between it and the backward: the head's weight gradient is accumulated here.
   */
  gradScale?: number;
}

/** Result of {@link GPT.forward}. */
export interface ForwardResult {
  /** Mean cross-entropy (nats/token) over targets ≥ 0; null when no targets were given. */
  loss: number | null;
  /** Number of positions that counted towards the loss. */
  count: number;
}

/**
 * A GPT model bound to a backend. Typical training step:
 * `model.zeroGrad(); await model.forward(x, y, B, T, { gradScale: 1 }); model.backward(1); await model.step(hp)`.
 */
export class GPT<F extends object = Float32Array, I extends object = Int32Array> {
  readonly config: GPTConfig;
  readonly backend: AnyBackend;
  readonly layout: ParamSpec[];
  /** Total number of parameters (the tied head is counted once). */
  readonly numParams: number;
  /** All parameters, flat. */
  readonly params: F;
  /** All gradients, flat, same layout. */
  readonly grads: F;
  private readonly p: Tensors<F>;
  private readonly g: Tensors<F>;
  private readonly paramViews: F[];
  private readonly gradViews: F[];
  private m: F | null = null;
  private v: F | null = null;
  private mViews: F[] = [];
  private vViews: F[] = [];
  private normSq: F;
  private acts: Acts<F, I> | null = null;
  private lastB = 0;
  private lastT = 0;
  private lastCount = 0;
  private haveTargets = false;
  /** The scale the last forward already ran the head's backward with (null: the backward recomputes the head). */
  private headGradScale: number | null = null;
  private readonly hp: AdamWStep = { lr: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step: 0, maxNorm: 0 };
  /** Optimizer steps taken (AdamW's t). */
  stepCount = 0;

  /** Builds the model and initialises weights from `seed` (GPT-2 init). */
  constructor(backend: AnyBackend, config: GPTConfig, seed = 0) {
    this.config = validateConfig(config);
    this.backend = backend;
    this.layout = paramLayout(this.config);
    this.numParams = this.layout.reduce((a, s) => a + s.size, 0);
    this.params = backend.alloc(this.numParams) as F;
    this.grads = backend.alloc(this.numParams) as F;
    this.normSq = backend.alloc(1) as F;
    this.paramViews = this.layout.map((s) => backend.view(this.params, s.offset, s.size) as F);
    this.gradViews = this.layout.map((s) => backend.view(this.grads, s.offset, s.size) as F);
    this.p = this.tensors(this.paramViews);
    this.g = this.tensors(this.gradViews);
    this.init(seed);
  }

  private tensors(views: F[]): Tensors<F> {
    const layers: LayerTensors<F>[] = [];
    for (let l = 0; l < this.config.nLayer; l++) {
      const b = 2 + l * 12;
      const [ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb] = views.slice(b, b + 12);
      layers.push({ ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb });
    }
    const n = views.length;
    return { wte: views[0], wpe: views[1], layers, lnfw: views[n - 2], lnfb: views[n - 1] };
  }

  /**
   * GPT-2 initialisation: weights N(0, 0.02), the two residual projections of each block N(0, 0.02/sqrt(2·nLayer)),
   * biases 0, LayerNorm gains 1. Deterministic in `seed`.
   */
  init(seed: number): void {
    const rng = new Rng(seed);
    const host = new Float32Array(this.numParams);
    const residStd = 0.02 / Math.sqrt(2 * this.config.nLayer);
    for (const s of this.layout) {
      if (s.name.endsWith("_b")) continue;
      if (/(ln1|ln2|lnf)_w$/.test(s.name)) {
        host.fill(1, s.offset, s.offset + s.size);
        continue;
      }
      const std = /(attnproj|fcproj)_w$/.test(s.name) ? residStd : 0.02;
      for (let i = 0; i < s.size; i++) host[s.offset + i] = rng.normal() * std;
    }
    this.backend.write(this.params, host);
    this.resetOptimizer();
  }

  /** Replaces all weights from a name → data map (every parameter must be present with the right size). */
  loadWeights(weights: Map<string, Float32Array> | Record<string, Float32Array>): void {
    this.backend.write(this.params, this.joinFlat(weights, "weights"));
  }

  /**
   * Replaces all gradients from a name → data map (e.g. gradients averaged elsewhere, or a reference's gradients to
   * test the optimizer in isolation).
   */
  loadGrads(grads: Map<string, Float32Array> | Record<string, Float32Array>): void {
    this.backend.write(this.grads, this.joinFlat(grads, "gradients"));
  }

  private joinFlat(tensors: Map<string, Float32Array> | Record<string, Float32Array>, what: string): Float32Array {
    const get = (n: string) => (tensors instanceof Map ? tensors.get(n) : tensors[n]);
    const host = new Float32Array(this.numParams);
    for (const s of this.layout) {
      const w = get(s.name);
      if (!w) throw new ModelInputError(`${what} are missing tensor "${s.name}" (the checkpoint does not match this model config)`);
      if (w.length !== s.size) {
        throw new ModelInputError(`tensor "${s.name}" has ${w.length} values but the config needs ${s.size} [${s.shape}] (check the model config)`);
      }
      host.set(w, s.offset);
    }
    return host;
  }

  /** Reads all weights back as a name → Float32Array map (copies). */
  async exportWeights(): Promise<Map<string, Float32Array>> {
    return this.splitFlat(await this.backend.read(this.params));
  }

  /** Reads all gradients back as a name → Float32Array map (copies). */
  async exportGrads(): Promise<Map<string, Float32Array>> {
    return this.splitFlat(await this.backend.read(this.grads));
  }

  private splitFlat(flat: Float32Array): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const s of this.layout) out.set(s.name, flat.slice(s.offset, s.offset + s.size));
    return out;
  }

  /** The AdamW moments (m, v) as host arrays, for checkpoints; null before the first step. */
  async exportOptimizer(): Promise<{ m: Float32Array; v: Float32Array; step: number } | null> {
    if (!this.m || !this.v) return null;
    return { m: await this.backend.read(this.m), v: await this.backend.read(this.v), step: this.stepCount };
  }

  /** Restores AdamW moments saved by {@link exportOptimizer}. */
  loadOptimizer(state: { m: Float32Array; v: Float32Array; step: number }): void {
    if (state.m.length !== this.numParams || state.v.length !== this.numParams) {
      throw new ModelInputError(`optimizer state has ${state.m.length} values but the model has ${this.numParams} parameters (checkpoint from another config)`);
    }
    this.ensureMoments();
    this.backend.write(this.m!, state.m);
    this.backend.write(this.v!, state.v);
    this.stepCount = state.step;
  }

  /** Zeroes the AdamW moments and the step counter. */
  resetOptimizer(): void {
    if (this.m) this.backend.zero(this.m);
    if (this.v) this.backend.zero(this.v);
    this.stepCount = 0;
  }

  private ensureMoments(): void {
    if (this.m && this.v) return;
    const be = this.backend;
    this.m = be.alloc(this.numParams) as F;
    this.v = be.alloc(this.numParams) as F;
    this.mViews = this.layout.map((s) => be.view(this.m!, s.offset, s.size) as F);
    this.vViews = this.layout.map((s) => be.view(this.v!, s.offset, s.size) as F);
  }

  /** Preallocates activations for batches up to (B, T), so later forwards of any smaller shape allocate nothing. */
  reserve(B: number, T: number): void {
    this.ensureActs(B, Math.min(T, this.config.blockSize));
  }

  /** The (B,T,V) logits buffer of the current activations, made on first use. */
  private logitsBuffer(a: Acts<F, I>): F {
    a.logits ??= this.backend.alloc(a.capBT * this.config.vocabSize) as F;
    return a.logits;
  }

  /** Allocates activations for at least B*T rows (reused while the shape fits; nothing is allocated per step). */
  private ensureActs(B: number, T: number): Acts<F, I> {
    const { nEmbd: C, nHead: NH, vocabSize: V, nLayer: L } = this.config;
    const BT = B * T;
    const att = B * NH * T * T;
    const band = B * NH * T * attentionWidth(T, this.config.localWindow ?? 0);
    if (this.acts && this.acts.capBT >= BT && this.acts.capAtt >= att && this.acts.capBand >= band) return this.acts;
    const be = this.backend;
    const f = (n: number) => be.alloc(n) as F;
    const layers: LayerActs<F>[] = [];
    for (let l = 0; l < L; l++) {
      layers.push({
        ln1: f(BT * C), ln1Mean: f(BT), ln1Rstd: f(BT), qkv: f(BT * 3 * C), atty: f(BT * C),
        att: f(layerWindow(this.config, l) > 0 ? band : att),
        attproj: f(BT * C), residual2: f(BT * C), ln2: f(BT * C), ln2Mean: f(BT), ln2Rstd: f(BT),
        fch: f(BT * 4 * C), fchGelu: f(BT * 4 * C), fcproj: f(BT * C), residual3: f(BT * C),
      });
    }
    this.acts = {
      capBT: BT, capAtt: att, capBand: band,
      inputs: be.allocInt(BT) as I, targets: be.allocInt(BT) as I,
      encoded: f(BT * C), layers, lnf: f(BT * C), lnfMean: f(BT), lnfRstd: f(BT),
      logits: be.classifierScratch(BT, C, V) ? f(BT * V) : null, losses: f(BT),
      dresid: f(BT * C), dln: f(BT * C), datty: f(BT * C), dqkv: f(BT * 3 * C), dfch: f(BT * 4 * C), dattScratch: f(att),
    };
    return this.acts;
  }

  private checkBatch(inputs: Int32Array, targets: Int32Array | null, B: number, T: number): void {
    const { blockSize, vocabSize } = this.config;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
      throw new ModelInputError(`batch shape (B=${B}, T=${T}) must be positive integers`);
    }
    if (T > blockSize) {
      throw new ModelInputError(`sequence length ${T} is longer than the model's blockSize ${blockSize} (use T ≤ ${blockSize} or a model with a larger blockSize)`);
    }
    if (inputs.length !== B * T) throw new ModelInputError(`inputs have ${inputs.length} ids but B×T = ${B}×${T} = ${B * T} (pass a (B, T) batch)`);
    if (targets && targets.length !== B * T) throw new ModelInputError(`targets have ${targets.length} ids but B×T = ${B * T} (pass (B, T) targets)`);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (!(x >= 0 && x < vocabSize) || !Number.isInteger(x)) {
        throw new ModelInputError(`token id ${x} at position ${i} is outside the vocabulary [0, ${vocabSize}) (use the model's tokenizer)`);
      }
    }
    if (targets) {
      for (let i = 0; i < targets.length; i++) {
        const y = targets[i];
        if (y >= vocabSize || !Number.isInteger(y)) {
          throw new ModelInputError(`target id ${y} at position ${i} is outside the vocabulary [0, ${vocabSize}) (use the model's tokenizer; negative ids are ignored)`);
        }
      }
    }
  }

  /**
   * Forward pass over a (B, T) batch of token ids. Without targets the logits (B, T, V) are kept and can be read with
   * {@link readLogits}; with targets the softmax cross-entropy is computed (the backend's `classifier`) and its mean
   * over targets ≥ 0 returned; `opts.gradScale` also runs the head's backward (see {@link ForwardOptions}). Targets < 0 are ignored (e.g. prompt positions when scoring a completion).
   */
  async forward(inputs: Int32Array, targets: Int32Array | null, B: number, T: number, opts: ForwardOptions = {}): Promise<ForwardResult> {
    this.checkBatch(inputs, targets, B, T);
    const be = this.backend;
    const { nEmbd: C, nHead: NH, vocabSize: V } = this.config;
    const a = this.ensureActs(B, T);
    const p = this.p;
    const N = B * T;
    be.writeInt(a.inputs, inputs);
    be.encoderForward(a.encoded, a.inputs, p.wte, p.wpe, B, T, C); // (B,T,C)
    let x = a.encoded;
    for (let l = 0; l < this.config.nLayer; l++) {
      const w = p.layers[l];
      const h = a.layers[l];
      be.layernormForward(h.ln1, h.ln1Mean, h.ln1Rstd, x, w.ln1w, w.ln1b, N, C);
      be.matmulForward(h.qkv, h.ln1, w.qkvw, w.qkvb, N, C, 3 * C); // (B,T,3C)
      be.attentionForward(h.atty, h.att, h.qkv, B, T, C, NH, layerWindow(this.config, l)); // (B,T,C)
      be.matmulForward(h.attproj, h.atty, w.attprojw, w.attprojb, N, C, C);
      be.residualForward(h.residual2, x, h.attproj, N * C);
      be.layernormForward(h.ln2, h.ln2Mean, h.ln2Rstd, h.residual2, w.ln2w, w.ln2b, N, C);
      be.matmulForward(h.fch, h.ln2, w.fcw, w.fcb, N, C, 4 * C); // (B,T,4C)
      be.geluForward(h.fchGelu, h.fch, N * 4 * C);
      be.matmulForward(h.fcproj, h.fchGelu, w.fcprojw, w.fcprojb, N, 4 * C, C); // (B,T,C)
      be.residualForward(h.residual3, h.residual2, h.fcproj, N * C);
      x = h.residual3;
    }
    be.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, x, p.lnfw, p.lnfb, N, C);
    this.lastB = B;
    this.lastT = T;
    this.haveTargets = targets !== null;
    this.headGradScale = null;
    if (!targets) {
      be.matmulForward(this.logitsBuffer(a), a.lnf, p.wte, null, N, C, V); // (B,T,V), head tied to wte
      return { loss: null, count: 0 };
    }
    be.writeInt(a.targets, targets);
    let count = 0;
    for (let i = 0; i < N; i++) if (targets[i] >= 0) count++;
    this.lastCount = count;
    const scale = opts.gradScale;
    if (scale !== undefined) {
      if (!Number.isFinite(scale)) throw new ModelInputError(`gradScale must be a finite number, got ${scale}`);
      this.headGradScale = scale;
    }
    this.classifier(a, scale);
    const losses = await be.read(be.view(a.losses, 0, N));
    let sum = 0;
    for (let i = 0; i < N; i++) sum += losses[i];
    return { loss: count > 0 ? sum / count : 0, count };
  }

  /**
   * The head and loss of the current batch: losses (B,T); with `scale` given also the head's backward for the mean
   * loss × scale (dln overwritten, the wte gradient accumulated).
   */
  private classifier(a: Acts<F, I>, scale: number | undefined): void {
    const be = this.backend;
    const { nEmbd: C, vocabSize: V } = this.config;
    const N = this.lastB * this.lastT;
    const grad = scale !== undefined;
    const s = grad && this.lastCount > 0 ? scale / this.lastCount : 0;
    const logits = be.classifierScratch(N, C, V) ? this.logitsBuffer(a) : null;
    be.classifier(a.losses, grad ? a.dln : null, grad ? this.g.wte : null, logits, a.lnf, this.p.wte, a.targets, s, N, C, V);
  }

  /**
   * A key/value cache for decoding one sequence token by token ({@link decode}): each layer's q, k, v rows for up to
   * blockSize positions, and working memory for the new rows. Needs a backend with `attentionDecode`.
   */
  newCache(): KvCache<F> {
    const be = this.backend;
    if (!be.attentionDecode) {
      throw new ModelInputError(`the ${be.name} backend has no key/value cache decoding; sample without it (each token recomputes the context)`);
    }
    const { nEmbd: C, blockSize: T, vocabSize: V, nLayer: L } = this.config;
    const f = (n: number) => be.alloc(n) as F;
    return {
      length: 0,
      qkv: Array.from({ length: L }, () => f(T * 3 * C)), // (T, 3C) per layer
      inputs: be.allocInt(T) as I, x: f(T * C), ln: f(T * C), mean: f(T), rstd: f(T), atty: f(T * C), proj: f(T * C),
      fch: f(T * 4 * C), fchGelu: f(T * 4 * C), logits: f(V),
    };
  }

  /**
   * Feeds `tokens` at positions cache.length … cache.length + n − 1 of the cached sequence and resolves to the logits
   * (V) of the last one: the work of n new positions (their matrix products, and attention over the cached keys),
   * not of the whole context. The sequence may grow to blockSize positions; start a new cache to go on.
   */
  async decode(cache: KvCache<F>, tokens: Int32Array): Promise<Float32Array> {
    const be = this.backend;
    const { nEmbd: C, nHead: NH, vocabSize: V, blockSize } = this.config;
    const n = tokens.length;
    const t0 = cache.length;
    if (n < 1) throw new ModelInputError("decode needs at least one token");
    if (t0 + n > blockSize) {
      throw new ModelInputError(`decoding past the model's blockSize ${blockSize} (cache holds ${t0}, feeding ${n}): start a new cache with the last tokens`);
    }
    this.checkBatch(tokens, null, 1, n);
    const p = this.p;
    const v = (buf: F, rows: number, width: number) => be.view(buf, 0, rows * width) as F;
    const x = v(cache.x, n, C);
    const ln = v(cache.ln, n, C);
    be.writeInt(cache.inputs, tokens);
    be.encoderForward(x, cache.inputs, p.wte, be.view(p.wpe, t0 * C, n * C), 1, n, C); // (n, C) at positions t0 …
    for (let l = 0; l < this.config.nLayer; l++) {
      const w = p.layers[l];
      const qkv = be.view(cache.qkv[l], t0 * 3 * C, n * 3 * C) as F; // the new rows of the cache
      be.layernormForward(ln, cache.mean, cache.rstd, x, w.ln1w, w.ln1b, n, C);
      be.matmulForward(qkv, ln, w.qkvw, w.qkvb, n, C, 3 * C);
      const rows = be.view(cache.qkv[l], 0, (t0 + n) * 3 * C);
      be.attentionDecode!(v(cache.atty, n, C), rows, t0, t0 + n, C, NH, layerWindow(this.config, l)); // banded on odd layers
      be.matmulForward(v(cache.proj, n, C), v(cache.atty, n, C), w.attprojw, w.attprojb, n, C, C);
      be.residualForward(x, x, v(cache.proj, n, C), n * C);
      be.layernormForward(ln, cache.mean, cache.rstd, x, w.ln2w, w.ln2b, n, C);
      be.matmulForward(v(cache.fch, n, 4 * C), ln, w.fcw, w.fcb, n, C, 4 * C);
      be.geluForward(v(cache.fchGelu, n, 4 * C), v(cache.fch, n, 4 * C), n * 4 * C);
      be.matmulForward(v(cache.proj, n, C), v(cache.fchGelu, n, 4 * C), w.fcprojw, w.fcprojb, n, 4 * C, C);
      be.residualForward(x, x, v(cache.proj, n, C), n * C);
    }
    const last = be.view(x, (n - 1) * C, C) as F;
    const lnLast = be.view(ln, 0, C) as F;
    be.layernormForward(lnLast, cache.mean, cache.rstd, last, p.lnfw, p.lnfb, 1, C);
    be.matmulForward(cache.logits, lnLast, p.wte, null, 1, C, V); // (1, V), head tied to wte
    cache.length = t0 + n;
    return be.read(cache.logits);
  }

  /** The logits (B, T, V) of the last forward pass without targets. */
  async readLogits(): Promise<Float32Array> {
    if (!this.acts || this.haveTargets || this.lastB === 0) {
      throw new ModelInputError("no logits available: call forward(inputs, null, B, T) first (a forward with targets turns logits into probabilities)");
    }
    const n = this.lastB * this.lastT * this.config.vocabSize;
    return this.backend.read(this.backend.view(this.logitsBuffer(this.acts), 0, n));
  }

  /** Per-token losses (B, T) of the last forward pass with targets (0 where the target was ignored). */
  async readLosses(): Promise<Float32Array> {
    if (!this.acts || !this.haveTargets) throw new ModelInputError("no losses available: call forward with targets first");
    return this.backend.read(this.backend.view(this.acts.losses, 0, this.lastB * this.lastT));
  }

  /**
   * Backward pass of the last forward (which must have had targets): ACCUMULATES d(mean loss)·scale into the
   * gradients. Use scale = 1/microSteps for gradient accumulation; call {@link zeroGrad} once per optimizer step.
   */
  backward(scale = 1): void {
    if (!this.acts || !this.haveTargets) throw new ModelInputError("backward needs a forward pass with targets first");
    const be = this.backend;
    const { nEmbd: C, nHead: NH, nLayer: L } = this.config;
    const a = this.acts;
    const p = this.p;
    const g = this.g;
    const B = this.lastB;
    const T = this.lastT;
    const N = B * T;
    if (this.headGradScale === null) {
      this.classifier(a, scale); // the head's backward was not run with the forward: run it now
    } else if (this.headGradScale !== scale) {
      throw new ModelInputError(`backward(${scale}) after forward(..., { gradScale: ${this.headGradScale} }): pass the same scale to both`);
    }
    be.zero(a.dresid);
    const xLast = L > 0 ? a.layers[L - 1].residual3 : a.encoded;
    be.layernormBackward(a.dresid, g.lnfw, g.lnfb, a.dln, xLast, p.lnfw, a.lnfMean, a.lnfRstd, N, C);
    for (let l = L - 1; l >= 0; l--) {
      const w = p.layers[l];
      const gw = g.layers[l];
      const h = a.layers[l];
      const xIn = l === 0 ? a.encoded : a.layers[l - 1].residual3;
      // MLP: dresid is the gradient of residual3 = residual2 + fcproj
      be.matmulBackward(a.dfch, gw.fcprojw, gw.fcprojb, a.dresid, h.fchGelu, w.fcprojw, N, 4 * C, C);
      be.geluBackward(a.dfch, h.fch, a.dfch, N * 4 * C);
      be.matmulBackward(a.dln, gw.fcw, gw.fcb, a.dfch, h.ln2, w.fcw, N, C, 4 * C);
      be.layernormBackward(a.dresid, gw.ln2w, gw.ln2b, a.dln, h.residual2, w.ln2w, h.ln2Mean, h.ln2Rstd, N, C);
      // attention: dresid is now the gradient of residual2 = xIn + attproj
      be.matmulBackward(a.datty, gw.attprojw, gw.attprojb, a.dresid, h.atty, w.attprojw, N, C, C);
      be.attentionBackward(a.dqkv, a.dattScratch, a.datty, h.qkv, h.att, B, T, C, NH, layerWindow(this.config, l));
      be.matmulBackward(a.dln, gw.qkvw, gw.qkvb, a.dqkv, h.ln1, w.qkvw, N, C, 3 * C);
      be.layernormBackward(a.dresid, gw.ln1w, gw.ln1b, a.dln, xIn, w.ln1w, h.ln1Mean, h.ln1Rstd, N, C);
    }
    be.encoderBackward(g.wte, g.wpe, a.dresid, a.inputs, B, T, C);
    this.haveTargets = false; // one backward per forward
    this.headGradScale = null;
  }

  /** Sets all gradients to zero. */
  zeroGrad(): void {
    this.backend.zero(this.grads);
  }

  /**
   * One AdamW step on the accumulated gradients with global-norm clipping (on the backend: no host round trip
   * before the update). Resolves to the gradient norm before clipping.
   */
  async step(hp: OptimizerHParams): Promise<number> {
    this.ensureMoments();
    const be = this.backend;
    be.sumSquares(this.normSq, this.grads, this.numParams);
    this.stepCount += 1;
    const h = this.hp;
    h.lr = hp.lr;
    h.beta1 = hp.beta1;
    h.beta2 = hp.beta2;
    h.eps = hp.eps;
    h.maxNorm = hp.maxNorm;
    h.step = this.stepCount;
    for (let i = 0; i < this.layout.length; i++) {
      const s = this.layout[i];
      h.weightDecay = s.decay ? hp.weightDecay : 0;
      be.adamw(this.paramViews[i], this.gradViews[i], this.mViews[i], this.vViews[i], s.size, h, hp.maxNorm > 0 ? this.normSq : null);
    }
    const ns = await be.read(this.normSq);
    return Math.sqrt(ns[0]);
  }

  /** Releases activation memory (the next forward reallocates). */
  freeActivations(): void {
    this.acts = null;
  }
}
