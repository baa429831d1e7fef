/**
 * Import of Hugging Face GPT-2 checkpoints (a folder with config.json and model.safetensors, as `transformers`
 * saves GPT2LMHeadModel / GPT2Model). Keys look like `h.0.attn.c_attn.weight`, optionally prefixed `transformer.`;
 * GPT-2's Conv1D layers store weights as (in, out), so they are transposed into our PyTorch-Linear (out, in) layout.
 * GPT-2's `gelu_new` is the tanh approximation our model uses, and its head is tied to `wte` like ours.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type GPTConfig, validateConfig } from "./config.js";
import { paramLayout } from "./gpt.js";
import { readSafetensors, type StTensor } from "./safetensors.js";

/** An HF checkpoint that cannot be imported; the message names the fix. */
export class HfImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HfImportError";
  }
}

/** Whether DIR looks like a Hugging Face GPT-2 folder. */
export function isHfGpt2Dir(dir: string): boolean {
  return existsSync(join(dir, "config.json")) && existsSync(join(dir, "model.safetensors"));
}

/** Reads an HF GPT-2 folder: the model config and the weights in scaling-lab's names and layout. */
export function loadHfGpt2(dir: string): { config: GPTConfig; weights: Map<string, Float32Array> } {
  const cfgPath = join(dir, "config.json");
  const stPath = join(dir, "model.safetensors");
  if (!existsSync(cfgPath) || !existsSync(stPath)) {
    throw new HfImportError(`${dir} is not a Hugging Face GPT-2 folder (it needs config.json and model.safetensors)`);
  }
  const hf = JSON.parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>;
  const num = (k: string, alt?: string): number => {
    const v = hf[k] ?? (alt ? hf[alt] : undefined);
    if (typeof v !== "number") throw new HfImportError(`${cfgPath} lacks the number "${k}" (is this a GPT-2 config?)`);
    return v;
  };
  if (hf.activation_function !== undefined && hf.activation_function !== "gelu_new" && hf.activation_function !== "gelu_pytorch_tanh") {
    throw new HfImportError(`${cfgPath}: activation ${String(hf.activation_function)} is not GPT-2's tanh GELU (only GPT-2-style models import)`);
  }
  const config = validateConfig({
    vocabSize: num("vocab_size"), blockSize: num("n_positions", "n_ctx"), nLayer: num("n_layer"),
    nHead: num("n_head"), nEmbd: num("n_embd"),
  });
  const st = readSafetensors(stPath);
  const get = (key: string): StTensor => {
    const t = st.tensors.get(key) ?? st.tensors.get("transformer." + key);
    if (!t) throw new HfImportError(`${stPath} has no tensor "${key}" (or "transformer.${key}"); not a GPT-2 checkpoint`);
    return t;
  };
  const C = config.nEmbd;
  const weights = new Map<string, Float32Array>();
  const plain = (name: string, key: string) => weights.set(name, get(key).data as Float32Array);
  // Conv1D (in, out) → Linear (out, in)
  const conv = (name: string, key: string, inDim: number, outDim: number) => {
    const t = get(key);
    if (t.shape[0] !== inDim || t.shape[1] !== outDim) {
      throw new HfImportError(`${key} has shape [${t.shape}], expected [${inDim}, ${outDim}] for n_embd ${C}`);
    }
    weights.set(name, transpose(t.data as Float32Array, inDim, outDim));
  };
  plain("wte", "wte.weight");
  plain("wpe", "wpe.weight");
  for (let l = 0; l < config.nLayer; l++) {
    const h = `h.${l}.`;
    const p = `h${l}_`;
    plain(p + "ln1_w", h + "ln_1.weight");
    plain(p + "ln1_b", h + "ln_1.bias");
    conv(p + "qkv_w", h + "attn.c_attn.weight", C, 3 * C);
    plain(p + "qkv_b", h + "attn.c_attn.bias");
    conv(p + "attnproj_w", h + "attn.c_proj.weight", C, C);
    plain(p + "attnproj_b", h + "attn.c_proj.bias");
    plain(p + "ln2_w", h + "ln_2.weight");
    plain(p + "ln2_b", h + "ln_2.bias");
    conv(p + "fc_w", h + "mlp.c_fc.weight", C, 4 * C);
    plain(p + "fc_b", h + "mlp.c_fc.bias");
    conv(p + "fcproj_w", h + "mlp.c_proj.weight", 4 * C, C);
    plain(p + "fcproj_b", h + "mlp.c_proj.bias");
  }
  plain("lnf_w", "ln_f.weight");
  plain("lnf_b", "ln_f.bias");
  for (const s of paramLayout(config)) {
    if (weights.get(s.name)!.length !== s.size) throw new HfImportError(`${s.name}: size mismatch with config.json (${s.size} expected)`);
  }
  return { config, weights };
}

/** (rows, cols) row-major → (cols, rows) row-major. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
