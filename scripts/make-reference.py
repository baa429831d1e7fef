#!/usr/bin/python3
"""scaling-lab's PyTorch reference: the GPT of reference/gpt-tiny/README.md, in float64.

Not needed to run the tests (they read the files this script wrote, in reference/gpt-tiny/). Run it with Debian's
PyTorch (`apt-get install -y python3-torch`, PyTorch 1.13) through /usr/bin/python3:

  /usr/bin/python3 scripts/make-reference.py reference [--out DIR] [NAME ...]
      writes NAME.safetensors (default: tiny small sparse long) into DIR (default reference/gpt-tiny): weights,
      a random batch, logits, per-token loss, loss, every gradient and the weights after one AdamW step.
  /usr/bin/python3 scripts/make-reference.py check FILE ...
      loads FILE's weights and batch, recomputes everything above in float64 and compares it with what FILE stores
      (and checks that the file's seed regenerates its weights and batch); exit status 1 on any difference.
  /usr/bin/python3 scripts/make-reference.py bench --vocab V --ctx T --d C --heads H --layers L --batch B
      times float32 training steps (forward, backward, clipping, AdamW) and prints one JSON line with tokens_per_s:
      the PyTorch peer of `npm run bench` (bench/torch_cuda_bench.py runs the same model on CUDA).

The model (names as in the files; PyTorch Linear layout, y = x W^T + b):
  x = wte[idx] + wpe[0:T]
  per block l:  x += attnproj(attention(qkv(LN1(x))));  x += fcproj(gelu_tanh(fc(LN2(x))))
  logits = LN_f(x) @ wte^T  (the head is tied to wte)
Attention is causal; with a local window w, the layers GPT-3 makes sparse (every odd index) let position i attend
only to j with i - w < j <= i. Initialisation (GPT-2's): every 2-D weight ~ N(0, 0.02), the two projections into
the residual stream (attnproj_w, fcproj_w) ~ N(0, 0.02 / sqrt(2 * layers)), biases 0, LayerNorm weights 1.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "reference", "gpt-tiny")

# The four reference files: shape, batch, seed, and what each one exercises (reference/README.md).
SPECS = {
    "tiny": dict(vocab=97, ctx=16, d_model=32, heads=4, layers=2, batch=3, seed=42),
    "small": dict(vocab=256, ctx=40, d_model=48, heads=3, layers=3, batch=2, seed=7),
    # GPT-3's alternating dense / locally banded attention (window 8 on the odd layers)
    "sparse": dict(vocab=97, ctx=48, d_model=32, heads=4, layers=4, batch=2, seed=7, local_window=8, clip_max_norm=0.0),
    # longer than a 64-row attention block, and the gradient clipped to norm 0.5 before the AdamW step
    "long": dict(vocab=128, ctx=160, d_model=64, heads=4, layers=2, batch=2, seed=11, local_window=0, clip_max_norm=0.5),
}
ADAMW = dict(lr=1e-3, weight_decay=0.1, beta1=0.9, beta2=0.95, eps=1e-8)
LN_EPS = 1e-5
BLOCK_PARAMS = ["ln1_w", "ln1_b", "qkv_w", "qkv_b", "attnproj_w", "attnproj_b",
                "ln2_w", "ln2_b", "fc_w", "fc_b", "fcproj_w", "fcproj_b"]


# ---------------------------------------------------------------------------------------------------- the model

def param_shapes(vocab, ctx, d, layers):
    """Every parameter's name and shape, in the files' order."""
    shapes = [("wte", (vocab, d)), ("wpe", (ctx, d))]
    per_block = {"ln1_w": (d,), "ln1_b": (d,), "qkv_w": (3 * d, d), "qkv_b": (3 * d,), "attnproj_w": (d, d),
                 "attnproj_b": (d,), "ln2_w": (d,), "ln2_b": (d,), "fc_w": (4 * d, d), "fc_b": (4 * d,),
                 "fcproj_w": (d, 4 * d), "fcproj_b": (d,)}
    for l in range(layers):
        shapes += [(f"h{l}_{n}", per_block[n]) for n in BLOCK_PARAMS]
    return shapes + [("lnf_w", (d,)), ("lnf_b", (d,))]


def init_params(vocab, ctx, d, layers, seed, dtype=torch.float64):
    """GPT-2's initialisation (see the module doc). The normal draws are float32 from torch.manual_seed(seed), in
    parameter order, so a seed gives the same weights whatever `dtype` the model then runs in."""
    torch.manual_seed(seed)
    params = {}
    for name, shape in param_shapes(vocab, ctx, d, layers):
        if name.endswith("_b"):
            p = torch.zeros(shape)
        elif name.startswith("ln") or "_ln" in name:
            p = torch.ones(shape)
        else:
            std = 0.02 / math.sqrt(2 * layers) if name.endswith("proj_w") else 0.02
            p = torch.randn(*shape) * std
        params[name] = p.to(dtype)
    return params


def random_batch(vocab, batch, ctx, seed):
    """Inputs and targets: independent uniform token ids from torch.manual_seed(seed + 1)."""
    torch.manual_seed(seed + 1)
    inputs = torch.randint(0, vocab, (batch, ctx))
    targets = torch.randint(0, vocab, (batch, ctx))
    return inputs, targets


def attention(qkv, heads, window):
    """Causal self-attention from a fused (B, T, 3C) qkv whose rows are [q | k | v]; heads take C/heads columns in
    order. window > 0: position i sees j with i - window < j <= i only."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // heads
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, heads, hs).transpose(1, 2)  # (B, heads, T, hs)
    k = k.view(B, T, heads, hs).transpose(1, 2)
    v = v.view(B, T, heads, hs).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, heads, T, T)
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    allowed = j <= i
    if window > 0:
        allowed = allowed & (j > i - window)
    scores = scores.masked_fill(~allowed, float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v  # (B, heads, T, hs)
    return y.transpose(1, 2).reshape(B, T, C)


def forward(P, inputs, heads, layers, local_window=0):
    """Logits (B, T, vocab) of the GPT with parameters P (a dict of tensors)."""
    B, T = inputs.shape
    d = P["wte"].shape[1]
    x = P["wte"][inputs] + P["wpe"][:T]  # (B, T, C)
    for l in range(layers):
        h = lambda n: P[f"h{l}_{n}"]  # noqa: E731
        window = local_window if l % 2 == 1 else 0  # GPT-3: dense and locally banded layers alternate
        a = F.layer_norm(x, (d,), h("ln1_w"), h("ln1_b"), LN_EPS)
        a = attention(F.linear(a, h("qkv_w"), h("qkv_b")), heads, window)
        x = x + F.linear(a, h("attnproj_w"), h("attnproj_b"))
        m = F.layer_norm(x, (d,), h("ln2_w"), h("ln2_b"), LN_EPS)
        m = F.gelu(F.linear(m, h("fc_w"), h("fc_b")), approximate="tanh")
        x = x + F.linear(m, h("fcproj_w"), h("fcproj_b"))
    x = F.layer_norm(x, (d,), P["lnf_w"], P["lnf_b"], LN_EPS)
    return x @ P["wte"].t()


def make_optimizer(P, lr, weight_decay, beta1, beta2, eps):
    """torch's AdamW: weight decay (decoupled, p -= lr * wd * p before the Adam update) on 2-D tensors only."""
    decay = [p for p in P.values() if p.dim() == 2]
    other = [p for p in P.values() if p.dim() != 2]
    groups = [dict(params=decay, weight_decay=weight_decay), dict(params=other, weight_decay=0.0)]
    return torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=eps)


def reference_step(params, inputs, targets, heads, layers, local_window, clip_max_norm):
    """Everything a reference file stores, in float64: logits, per-token loss, loss, gradients, global gradient
    norm, and the weights after one AdamW step (from zero moments; clipped to clip_max_norm when it is > 0)."""
    P = {n: p.detach().clone().to(torch.float64).requires_grad_(True) for n, p in params.items()}
    logits = forward(P, inputs, heads, layers, local_window)
    V = logits.shape[-1]
    per_token = F.cross_entropy(logits.view(-1, V), targets.reshape(-1), reduction="none").view(targets.shape)
    loss = per_token.mean()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in P.items()}
    grad_norm = torch.sqrt(sum((g * g).sum() for g in grads.values()))
    if clip_max_norm > 0:
        torch.nn.utils.clip_grad_norm_(list(P.values()), clip_max_norm)
    opt = make_optimizer(P, **ADAMW)
    opt.step()
    return dict(logits=logits.detach(), per_token_loss=per_token.detach(), loss=loss.detach().view(1),
                grads=grads, grad_norm=grad_norm.view(1), after={n: p.detach() for n, p in P.items()})


# ---------------------------------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": (torch.float32, 4), "I32": (torch.int32, 4)}


def write_safetensors(path, tensors, metadata):
    """Writes (name, tensor) pairs in order as little-endian safetensors (F32 for floats, I32 for ids)."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors:
        code = "I32" if not t.is_floating_point() else "F32"
        data = t.detach().to(_DTYPES[code][0]).contiguous().numpy().astype("<" + ("i4" if code == "I32" else "f4")).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """(tensors by name, metadata) of a safetensors file written by write_safetensors."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        dtype, size = _DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + n + start:8 + n + end]), dtype=dtype)
        tensors[name] = t.reshape(info["shape"]) if info["shape"] else t
    return tensors, metadata


# ---------------------------------------------------------------------------------------------------- the files

def metadata_of(spec):
    """The header metadata of a reference file (strings, as safetensors requires)."""
    md = {k: str(spec[k]) for k in ("vocab", "ctx", "d_model", "heads", "layers", "batch", "seed")}
    md.update(lr=str(ADAMW["lr"]), weight_decay=str(ADAMW["weight_decay"]), beta1=str(ADAMW["beta1"]),
              beta2=str(ADAMW["beta2"]), eps=str(ADAMW["eps"]), layernorm_eps=str(LN_EPS), gelu="tanh", tied_head="True")
    note = "float64 reference stored as float32; weight decay on 2-D tensors only; AdamW step 1 from zero moments"
    if "local_window" in spec:  # the files added for banded attention and clipping say so explicitly
        md.update(local_window=str(spec["local_window"]), sparse_layers="odd" if spec["local_window"] > 0 else "none",
                  clip_max_norm=str(spec["clip_max_norm"]))
        if spec["clip_max_norm"] > 0:
            note += "; gradients clipped to the global norm before the step (grad.* are unclipped)"
    md["note"] = note
    return md


def spec_of(metadata):
    """The generator settings a file's metadata records."""
    spec = {k: int(metadata[k]) for k in ("vocab", "ctx", "d_model", "heads", "layers", "batch", "seed")}
    if "local_window" in metadata:
        spec.update(local_window=int(metadata["local_window"]), clip_max_norm=float(metadata["clip_max_norm"]))
    return spec


def compute(spec, params=None, inputs=None, targets=None):
    """The named tensors of a reference file, in file order, from `spec` (weights and batch from its seed unless
    given)."""
    if params is None:
        params = init_params(spec["vocab"], spec["ctx"], spec["d_model"], spec["layers"], spec["seed"])
    if inputs is None:
        inputs, targets = random_batch(spec["vocab"], spec["batch"], spec["ctx"], spec["seed"])
    r = reference_step(params, inputs, targets, spec["heads"], spec["layers"], spec.get("local_window", 0),
                       spec.get("clip_max_norm", 0.0))
    out = [("inputs", inputs), ("targets", targets), ("logits", r["logits"]), ("per_token_loss", r["per_token_loss"]),
           ("loss", r["loss"])]
    for name in params:
        out += [("param." + name, params[name]), ("grad." + name, r["grads"][name])]
    if "local_window" in spec:
        out.append(("grad_norm", r["grad_norm"]))
    out += [("after_adamw." + name, r["after"][name]) for name in params]
    return out


def cmd_reference(args):
    os.makedirs(args.out, exist_ok=True)
    for name in args.names or list(SPECS):
        if name not in SPECS:
            sys.exit(f"make-reference: unknown reference {name!r} (use {', '.join(SPECS)})")
        spec = SPECS[name]
        tensors = compute(spec)
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, tensors, metadata_of(spec))
        loss = dict(tensors)["loss"].item()
        print(f"{path}: loss {loss:.6f}", file=sys.stderr)


def cmd_check(args):
    """Recomputes each file from its own weights and batch (and from its seed) and compares. Tolerances: float32
    storage of float64 values, i.e. a few units in the last place."""
    failed = False
    for path in args.files:
        stored, md = read_safetensors(path)
        spec = spec_of(md)
        names = [n for n, _ in param_shapes(spec["vocab"], spec["ctx"], spec["d_model"], spec["layers"])]
        params = {n: stored["param." + n].to(torch.float64) for n in names}
        inputs, targets = stored["inputs"].long(), stored["targets"].long()
        worst = ("", 0.0)
        for name, t in compute(spec, params, inputs, targets):
            want = stored[name]
            if not t.is_floating_point():
                ok = bool((t.to(torch.int32) == want).all())
                err = 0.0 if ok else float("inf")
            else:
                # per element: |ours - stored| / (|stored| + 1e-3 max|stored|), at most 1e-6
                want64 = want.to(torch.float64)
                scale = want64.abs() + 1e-3 * want64.abs().max()
                err = ((t.to(torch.float64) - want64).abs() / scale.clamp_min(1e-300)).max().item()
            if err > worst[1]:
                worst = (name, err)
            if err > 1e-6:
                failed = True
                print(f"{path}: {name} differs (scaled error {err:.2e})", file=sys.stderr)
        # the seed regenerates the weights and the batch exactly
        regen = init_params(spec["vocab"], spec["ctx"], spec["d_model"], spec["layers"], spec["seed"], torch.float32)
        same_init = all(bool((regen[n] == stored["param." + n]).all()) for n in names)
        gi, gt = random_batch(spec["vocab"], spec["batch"], spec["ctx"], spec["seed"])
        same_batch = bool((gi.to(torch.int32) == stored["inputs"]).all() and (gt.to(torch.int32) == stored["targets"]).all())
        same_md = md == metadata_of(spec)
        failed |= not (same_init and same_batch and same_md)
        print(json.dumps(dict(file=path, tensors=len(stored), worst=worst[0], worst_error=worst[1],
                              seed_regenerates_weights=same_init, seed_regenerates_batch=same_batch,
                              metadata_matches=same_md)))
    sys.exit(1 if failed else 0)


def cmd_bench(args):
    """Training-step throughput in float32 on the CPU (or --device), the peer of `npm run bench`."""
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    P = {n: p.to(dev).requires_grad_(True) for n, p in init_params(args.vocab, args.ctx, args.d, args.layers, 0, torch.float32).items()}
    opt = make_optimizer(P, lr=3e-4, weight_decay=0.1, beta1=0.9, beta2=0.95, eps=1e-8)
    g = torch.Generator().manual_seed(0)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step():
        idx = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g).to(dev)
        tgt = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g).to(dev)
        logits = forward(P, idx, args.heads, args.layers)
        loss = F.cross_entropy(logits.view(-1, args.vocab), tgt.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(P.values()), 1.0)
        opt.step()
        return loss.item(), norm.item()  # the loss and the gradient norm come to the host, as in scaling-lab

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        sync()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    tps = args.batch * args.ctx / med
    # training FLOPs per token as src/model/accounting.ts counts them: 6 N (N without wpe) + 12 L C T (attention)
    n = sum(p.numel() for name, p in P.items() if name != "wpe")
    flops_per_token = 6 * n + 12 * args.layers * args.d * args.ctx
    device = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps(dict(
        engine=f"pytorch-{torch.__version__}-{dev.type}-fp32-eager", device=device, threads=torch.get_num_threads(),
        vocab=args.vocab, ctx=args.ctx, d_model=args.d, heads=args.heads, layers=args.layers, batch=args.batch,
        params=sum(p.numel() for p in P.values()), median_step_s=round(med, 5), tokens_per_s=round(tps, 1),
        model_gflops_per_s=round(flops_per_token * tps / 1e9, 2))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference", help="write the reference files")
    r.add_argument("--out", default=DEFAULT_OUT)
    r.add_argument("names", nargs="*", help=f"which files (default: {' '.join(SPECS)})")
    c = sub.add_parser("check", help="recompute stored files and compare")
    c.add_argument("files", nargs="+")
    b = sub.add_parser("bench", help="tokens/s of float32 training steps")
    b.add_argument("--vocab", type=int, default=256)
    b.add_argument("--ctx", type=int, default=128)
    b.add_argument("--d", type=int, default=128)
    b.add_argument("--heads", type=int, default=4)
    b.add_argument("--layers", type=int, default=4)
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--device", default="cpu")
    args = ap.parse_args()
    {"reference": cmd_reference, "check": cmd_check, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
