"""Parameters, FLOPs and throughput per model, measured the way the field reports them.

Every function returns plain dicts ("rows") that a table or record writer can use as they are.

FLOPs. Counted with fvcore's tracing counter, the one behind mmaction2's ``get_flops.py`` (through
mmengine) and X-CLIP/ViFi-CLIP's tables, which counts one multiply-add as one FLOP: so the papers'
"GFLOPs" are multiply-accumulates. Rows give both, ``*_gmac`` and ``*_gflops`` (= 2 x MAC, the
``torch.utils.flop_counter`` / open_clip convention). fvcore has no handle for the attention ops
``nn.MultiheadAttention`` calls, so out of the box it drops the attention matmuls
(``aten::scaled_dot_product_attention``, 4% of ViT-B/16) or, in eval under ``no_grad``, whole
attention layers (``aten::_native_multi_head_attention``, the fused fast path: 36%). Both get a
handle here (``FLOP_HANDLES``); any other unsupported operator that is not element-wise is listed in
the row's ``uncounted_ops`` instead of silently counting as zero.

- vision: ``extract_feat`` on one view, ``(1, T, 3, S, S)``; the image path the papers quote.
- text: ``encode_text`` of one prompt at the tokenizer's context length (77). Class texts are
  encoded once per class set and cached, so this is a one-off cost (``text_gmac_class_set``).
- class side: what each video costs on top of ``extract_feat`` to score K classes with cached text
  features: ``class_logits(encode_video(x), text)`` minus ``extract_feat``. For most models a dot
  product; for X-CLIP the video-specific prompt generator over all K class texts and the projection
  of its visual context, which run per video.

Throughput. ``torch.no_grad``, eval mode, synthetic inputs (no decoding), warm-up then timed
forwards of what a test step runs per video: ``encode_video`` plus ``class_logits`` against
precomputed text features of K classes (random stand-ins with the cache's shape ``(P, K, D)``),
softmax and the mean over templates. Batch-1 latency (median ms per video) and batch-N throughput
(videos/s and frames/s, median). Every row also carries its ratio to the plain CLIP image tower
(``clip-image-tower``: the frozen open_clip visual tower per frame, frame features averaged) at the
same architecture, frames, input size, batch, dtype and device, measured in the same run: each
model is timed in alternation with the tower (AB BA ...) and the ratio is the median of the per-pair
ratios, so that load changes on a shared machine cancel. On CPU profiling runs on one torch thread
unless told otherwise (see ``profile``); ``speed_vs_flops`` (speed ratio times FLOP ratio, 1 = as
fast as its FLOPs say) flags a model whose code runs slower than its arithmetic.
"""

import contextlib
import json
import math
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from ezclip import registry
from ezclip.errors import EzclipError
from ezclip.models.base import count_parameters

TOWER = "clip-image-tower"
DEFAULT_CLASSES = 400
TEXT_PROMPT = "a video of a person doing something."
DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
FLOP_CONVENTION = "fvcore: 1 multiply-add = 1 FLOP (GMAC); gflops = 2 x gmac"

# Operator names that carry real arithmetic: if one of them is left uncounted the total is wrong.
_HEAVY_OP_KEYS = (
    "attention",
    "transformer",
    "matmul",
    "mm",
    "conv",
    "linear",
    "lstm",
    "gru",
    "rnn",
    "einsum",
    "baddbmm",
    "addmm",
    "bmm",
    "_fwd",
)
GIGA = 1e9


# -- FLOP handles ---------------------------------------------------------------------------------
def _shape(value):
    from fvcore.nn.jit_handles import get_shape

    return get_shape(value)


def sdpa_flop_jit(inputs, outputs):
    """MACs of ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``softmax(.) V``.

    q ``(..., L, E)``, k ``(..., S, E)``, v ``(..., S, Ev)``: ``prod(...) * L * S * (E + Ev)``."""
    q, k, v = (_shape(x) for x in inputs[:3])
    return math.prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def native_mha_flop_jit(inputs, outputs):
    """MACs of ``aten::_native_multi_head_attention``, the fused path ``nn.MultiheadAttention`` takes
    in eval without grad: the q/k/v in-projections, the two attention matmuls and the output
    projection (the same MACs as the unfused path's ``linear`` + sdpa + ``linear``).

    query ``(B, L, E)``, key/value ``(B, S, E)`` (the fast path needs one embedding size)."""
    q, k = _shape(inputs[0]), _shape(inputs[1])
    lead, length, source, embed = math.prod(q[:-2]), q[-2], k[-2], q[-1]
    projections = lead * (2 * length + 2 * source) * embed * embed  # q, out (L rows); k, v (S rows)
    attention = lead * length * source * 2 * embed
    return projections + attention


FLOP_HANDLES = {
    "aten::scaled_dot_product_attention": sdpa_flop_jit,
    "aten::_native_multi_head_attention": native_mha_flop_jit,
}


def _short(op):
    return op.split("::")[-1]


def count_macs(module, inputs, handles=None):
    """Trace ``module(*inputs)`` with fvcore (no grad) and count multiply-accumulates.

    Returns ``dict(macs, by_operator, uncounted_ops, attention_macs)``: ``uncounted_ops`` are the
    unsupported operators that are not element-wise (``{op: calls}``); ``attention_macs`` what the
    attention handles added (what an un-patched fvcore/mmengine would miss)."""
    from fvcore.nn import FlopCountAnalysis

    handles = FLOP_HANDLES if handles is None else handles
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(module, inputs)
        for op, handle in handles.items():
            analysis.set_op_handle(op, handle)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        total = int(analysis.total())
        by_operator = {k: int(v) for k, v in analysis.by_operator().items()}
        unsupported = dict(analysis.unsupported_ops())
    uncounted = {op: n for op, n in unsupported.items() if any(key in _short(op) for key in _HEAVY_OP_KEYS)}
    attention = sum(by_operator.get(_short(op), 0) for op in handles)
    return dict(macs=total, by_operator=by_operator, uncounted_ops=uncounted, attention_macs=attention)


def vit_analytic_macs(visual, frames=1):
    """Closed-form MACs of an open_clip ``VisionTransformer`` on ``frames`` images: patch embedding,
    per layer ``4 N D^2`` (attention projections) ``+ 2 N^2 D`` (attention) ``+ 2 N D M`` (MLP, M its
    hidden width), and the output projection of the pooled token. Norms and element-wise ops are left
    out (fvcore adds about 0.1% for LayerNorm). ``None`` for towers that are not a plain ViT."""
    if not all(hasattr(visual, a) for a in ("conv1", "grid_size", "transformer", "proj")):
        return None
    conv = visual.conv1
    grid = math.prod(visual.grid_size)
    width = visual.transformer.width
    tokens = grid + 1  # CLS
    patch = conv.in_channels * math.prod(conv.kernel_size) * width * grid
    per_layer = 0
    for block in visual.transformer.resblocks:
        hidden = block.mlp.c_fc.out_features
        per_layer += 4 * tokens * width * width + 2 * tokens * tokens * width + 2 * tokens * width * hidden
    proj = math.prod(visual.proj.shape) if visual.proj is not None else 0
    return frames * (patch + per_layer + proj)


# -- what gets counted and timed ------------------------------------------------------------------
class ImageTower(nn.Module):
    """The plain CLIP image tower: frozen open_clip visual tower per frame, frame features averaged.
    Takes ``(B, T, C, H, W)``; the reference every model is compared with."""

    def __init__(self, arch):
        super().__init__()
        from ezclip.clip import build_clip

        clip, _ = build_clip(arch, pretrained=None)
        self.visual = clip.visual
        self.arch = arch
        self.requires_grad_(False)
        del clip

    def forward(self, frames):
        b, t = frames.shape[:2]
        return self.visual(frames.flatten(0, 1)).view(b, t, -1).mean(dim=1)


class _VisionPath(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model.extract_feat(inputs)


class _ScoredPath(nn.Module):
    """What a test step computes per video, given cached text features ``(P, K, D)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs, text_features):
        frames, _ = self.model.split_views(inputs)
        return self.model.class_logits(self.model.encode_video(frames), text_features)


class _TextPath(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model.encode_text(tokens)


def image_size_of(visual):
    size = visual.image_size
    return size[0] if isinstance(size, (tuple, list)) else int(size)


def check_input_size(visual, arch, input_size):
    native = image_size_of(visual)
    if input_size not in (None, native):
        raise EzclipError(
            f"{arch} is built for {native}px inputs (its position embedding is fixed); "
            f"--input-size {input_size} needs an architecture config of that size"
        )
    return native


def text_embed_dim(model):
    return model.clip.text_projection.shape[-1]


def random_text_features(model, classes, generator=None):
    """Stand-ins for the cached class text features: ``(P, K, D)``, P the model's templates."""
    return torch.randn(len(model.templates), classes, text_embed_dim(model), generator=generator)


# -- FLOPs ------------------------------------------------------------------------------------------
def _gmac_fields(prefix, macs):
    return {f"{prefix}_gmac": macs / GIGA, f"{prefix}_gflops": 2 * macs / GIGA}


def tower_flops(tower, frames, input_size):
    x = torch.zeros(1, frames, 3, input_size, input_size)
    count = count_macs(tower.eval(), x)
    analytic = vit_analytic_macs(tower.visual, frames)
    row = dict(
        **_gmac_fields("vision", count["macs"]),
        vision_gmac_per_frame=count["macs"] / frames / GIGA,
        vision_gmac_without_attention_handles=(count["macs"] - count["attention_macs"]) / GIGA,
        uncounted_ops=count["uncounted_ops"],
    )
    if analytic:
        row.update(vision_gmac_analytic=analytic / GIGA, vision_vs_analytic=count["macs"] / analytic - 1.0)
    return row


def model_flops(model, frames, input_size, classes=DEFAULT_CLASSES):
    """FLOP fields of one model (eval mode): vision per view, text per prompt, class side per video."""
    model.eval()
    x = torch.zeros(1, frames, 3, input_size, input_size)
    vision = count_macs(_VisionPath(model).eval(), x)
    text_features = random_text_features(model, classes, torch.Generator().manual_seed(0))
    scored = count_macs(_ScoredPath(model).eval(), (x, text_features))
    tokens = model.tokenize([TEXT_PROMPT]).cpu()
    text = count_macs(_TextPath(model).eval(), tokens)
    class_side = scored["macs"] - vision["macs"]
    prompts = len(model.templates)
    uncounted = {}
    for part in (vision, scored, text):
        uncounted.update(part["uncounted_ops"])
    return dict(
        **_gmac_fields("vision", vision["macs"]),
        vision_gmac_per_frame=vision["macs"] / frames / GIGA,
        vision_gmac_without_attention_handles=(vision["macs"] - vision["attention_macs"]) / GIGA,
        **_gmac_fields("text_per_prompt", text["macs"]),
        text_context_length=int(tokens.shape[1]),
        text_prompts_per_class=prompts,
        text_gmac_class_set=text["macs"] * prompts * classes / GIGA,
        **_gmac_fields("class_side_per_video", class_side),
        **_gmac_fields("total_per_video", scored["macs"]),
        uncounted_ops=uncounted,
    )


# -- throughput -------------------------------------------------------------------------------------
def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device, dtype):
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[dtype])


def time_forward(step, inputs, iters, warmup, device="cpu", dtype="fp32"):
    """Per-call seconds of ``step(*inputs)`` (no grad, after ``warmup`` untimed calls)."""
    times = []
    with torch.no_grad(), _autocast(device, dtype):
        for _ in range(warmup):
            step(*inputs)
        _sync(device)
        for _ in range(iters):
            start = time.perf_counter()
            step(*inputs)
            _sync(device)
            times.append(time.perf_counter() - start)
    return times


def time_paired(step, reference, inputs, iters, warmup, device="cpu", dtype="fp32"):
    """Per-call seconds of ``step`` and ``reference`` timed alternately (AB BA AB ...), so that a change
    in the machine's load hits both alike; returns the two lists, pair by pair."""
    times = ([], [])
    with torch.no_grad(), _autocast(device, dtype):
        for _ in range(warmup):
            step(*inputs)
            reference(*inputs)
        _sync(device)
        for i in range(iters):
            order = ((0, step), (1, reference)) if i % 2 == 0 else ((1, reference), (0, step))
            for which, fn in order:
                start = time.perf_counter()
                fn(*inputs)
                _sync(device)
                times[which].append(time.perf_counter() - start)
    return times


def measure_throughput(step, make_inputs, frames, batch, iters, warmup, device="cpu", dtype="fp32"):
    """Batch-1 latency and batch-``batch`` throughput of ``step`` on ``make_inputs(b)``."""
    one = time_forward(step, make_inputs(1), iters, warmup, device, dtype)
    many = one if batch == 1 else time_forward(step, make_inputs(batch), iters, warmup, device, dtype)
    latency = statistics.median(one)
    videos = batch / statistics.median(many)
    return dict(
        latency_ms=1000 * latency,
        latency_ms_min=1000 * min(one),
        videos_per_s=videos,
        frames_per_s=videos * frames,
        batch=batch,
        iters=iters,
        warmup=warmup,
    )


def measure_against_tower(step, tower, make_inputs, frames, batch, iters, warmup, device="cpu", dtype="fp32"):
    """``measure_throughput`` of ``step`` with the tower timed in alternation on the same inputs: the
    ratios are medians of the per-pair ratios (model over tower for latency, tower over model for
    throughput), and ``tower_*`` are this pairing's own tower numbers."""
    one = time_paired(step, tower, make_inputs(1), iters, warmup, device, dtype)
    many = one if batch == 1 else time_paired(step, tower, make_inputs(batch), iters, warmup, device, dtype)
    videos, tower_videos = batch / statistics.median(many[0]), batch / statistics.median(many[1])
    return dict(
        latency_ms=1000 * statistics.median(one[0]),
        latency_ms_min=1000 * min(one[0]),
        videos_per_s=videos,
        frames_per_s=videos * frames,
        batch=batch,
        iters=iters,
        warmup=warmup,
        tower_latency_ms=1000 * statistics.median(one[1]),
        tower_videos_per_s=tower_videos,
        latency_ratio_vs_tower=statistics.median(m / t for m, t in zip(*one)),
        throughput_ratio_vs_tower=statistics.median(t / m for m, t in zip(*many)),
        ratio_method="median of per-pair ratios, model and tower timed alternately",
    )


def _video_inputs(frames, input_size, device, seed=0):
    def make(b):
        gen = torch.Generator().manual_seed(seed)
        return (torch.randn(b, frames, 3, input_size, input_size, generator=gen).to(device),)

    return make


def model_step(model, text_features):
    """One test step per batch with cached text: scores ``(B, K)``."""

    def step(frames):
        logits = model.class_logits(model.encode_video(frames), text_features)
        return logits.softmax(dim=-1).mean(dim=0)

    return step


# -- one run ----------------------------------------------------------------------------------------
def _resolve_runs(device, iters, warmup):
    cuda = torch.device(device).type == "cuda"
    return (iters if iters is not None else (30 if cuda else 6), warmup if warmup is not None else (50 if cuda else 1))


@contextlib.contextmanager
def torch_threads(threads):
    """Run with ``threads`` intra-op threads (``None`` or 0: leave torch's choice), restored afterwards."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def profile(
    models,
    arch=None,
    frames=None,
    input_size=None,
    classes=DEFAULT_CLASSES,
    flops=True,
    throughput=True,
    batch=8,
    iters=None,
    warmup=None,
    device="cpu",
    dtype="fp32",
    threads=None,
    reference=None,
    build=None,
):
    """Profile registered models; returns rows, one ``clip-image-tower`` row first per distinct
    (architecture, frames, input size) among the models, then one row per model.

    ``iters``/``warmup`` default to 6/1 on CPU and 30/50 (the field's) on CUDA. ``threads`` sets
    torch's intra-op threads while profiling; ``None`` means 1 on CPU and torch's choice elsewhere, 0
    torch's choice (all cores). One thread is the reproducible choice on a CPU that other work shares:
    with every core as an OpenMP thread, each parallel operator waits for a descheduled thread (8 ms
    for a LayerNorm of 136x64 on a busy 2-core machine, against microseconds), which penalises models
    with many small operators far beyond their FLOPs. ``reference`` is a ``reference_by_model()`` result
    (read from ``ezclip/registry/reference/efficiency.json`` when ``None``); ``build(name, arch, frames)``
    builds a model (default: ``ezclip.zoo.build_model`` with ``pretrained=None``)."""
    if threads is None:
        threads = 1 if torch.device(device).type == "cpu" else 0
    with torch_threads(threads):
        return _profile(
            models,
            arch,
            frames,
            input_size,
            classes,
            flops,
            throughput,
            batch,
            iters,
            warmup,
            device,
            dtype,
            reference,
            build,
        )


def _profile(
    models, arch, frames, input_size, classes, flops, throughput, batch, iters, warmup, device, dtype, reference, build
):
    from ezclip.zoo import build_model

    if dtype not in DTYPES:
        raise EzclipError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    build = build or (lambda name, arch, frames: build_model(name, arch=arch, frames=frames, pretrained=None))
    iters, warmup = _resolve_runs(device, iters, warmup)
    reference = reference_by_model() if reference is None else reference
    towers, tower_modules, rows = {}, {}, []
    setup = dict(batch=batch, dtype=dtype, device=str(device), threads=torch.get_num_threads())

    def load():
        return dict(load_average_1min=os.getloadavg()[0]) if hasattr(os, "getloadavg") else {}

    def tower_row(key):
        if key in towers:
            return towers[key]
        t_arch, t_frames, t_size = key
        tower = ImageTower(t_arch).eval()
        total, trainable = count_parameters(tower)
        row = dict(
            model=TOWER,
            type="open_clip VisionTransformer",
            arch=t_arch,
            frames=t_frames,
            input_size=t_size,
            params_total=total,
            params_trainable=trainable,
        )
        if flops:
            row.update(tower_flops(tower, t_frames, t_size))
            row["vision_gmac_ratio_vs_tower"] = 1.0
        if throughput:
            tower_modules[key] = tower.to(device)  # kept: each model is timed in alternation with it
            row.update(load())
            row.update(
                measure_throughput(
                    tower_modules[key],
                    _video_inputs(t_frames, t_size, device),
                    t_frames,
                    batch,
                    iters,
                    warmup,
                    device,
                    dtype,
                )
            )
            row.update(latency_ratio_vs_tower=1.0, throughput_ratio_vs_tower=1.0, **setup)
        row.update(reference_for(reference, TOWER, row))
        towers[key] = row
        rows.append(row)
        return row

    pending = []
    for name in models:
        model = build(name, arch, frames).eval()
        size = check_input_size(model.clip.visual, model.arch, input_size)
        tower = tower_row((model.arch, model.num_frames, size))
        total, trainable = count_parameters(model)
        row = dict(
            model=name,
            type=type(model).__name__,
            arch=model.arch,
            frames=model.num_frames,
            input_size=size,
            params_total=total,
            params_trainable=trainable,
            params_added_vs_clip=total - sum(p.numel() for p in model.clip.parameters()),
        )
        if flops:
            row.update(model_flops(model, model.num_frames, size, classes))
            row["classes"] = classes
            row["vision_gmac_ratio_vs_tower"] = row["vision_gmac"] / tower["vision_gmac"]
            row["total_gmac_ratio_vs_tower"] = row["total_per_video_gmac"] / tower["vision_gmac"]
        if throughput:
            model.to(device)
            text = random_text_features(model, classes, torch.Generator().manual_seed(0)).to(device)
            row.update(load())
            key = (model.arch, model.num_frames, size)
            row.update(
                measure_against_tower(
                    model_step(model, text),
                    tower_modules[key],
                    _video_inputs(model.num_frames, size, device),
                    model.num_frames,
                    batch,
                    iters,
                    warmup,
                    device,
                    dtype,
                )
            )
            row.update(classes=classes, **setup)
            if flops:  # 1.0: as fast as its FLOPs say; below: slower than its FLOPs say
                row["speed_vs_flops"] = row["throughput_ratio_vs_tower"] * row["total_gmac_ratio_vs_tower"]
        row.update(reference_for(reference, name, row))
        pending.append(row)
        del model
    return rows + pending


# -- reported numbers -------------------------------------------------------------------------------
def reference_by_model(path=None):
    """The reported efficiency numbers (``ezclip/registry/reference/efficiency.json``, or a file of
    the user's): ``{model: [entry]}`` with each entry's value, frames, source and confidence. A missing
    file gives ``{}``."""
    if path is not None and not Path(path).is_file():
        return {}
    by_model = {}
    for entry in registry.load_reference("efficiency", path)[0]:
        by_model.setdefault(entry["model"], []).append(entry)
    return by_model


def reference_for(reference, name, row, tolerance=0.05):
    """Reported GFLOPs next to a measured row: the primary entry (the T2L efficiency figure), per-frame
    agreement with the measurement, and a same-frames entry if one exists. ``{}`` when nothing is on
    file for ``name``."""
    entries = [
        e
        for e in reference.get(name, [])
        if e.get("metric") == "gflops_per_view" and e.get("arch", row["arch"]) == row["arch"]
    ]
    if not entries:
        return {}
    primary = next((e for e in entries if e.get("primary")), entries[0])
    out = dict(
        reported_gflops=primary["value"],
        reported_frames=primary.get("frames"),
        reported_source=primary.get("source"),
        reported_confidence=primary.get("confidence"),
    )
    if "vision_gmac" not in row:
        return out
    notes = []
    frames = primary.get("frames")
    if frames:
        measured = row["vision_gmac"] / row["frames"]
        reported = primary["value"] / frames
        diff = measured / reported - 1.0
        out["reported_vs_measured_per_frame"] = diff
        scaled = "" if frames == row["frames"] else f" (reported at {frames}f)"
        if str(primary.get("frames_confidence", "")).startswith("calc"):
            scaled += "; the reported frame count is inferred from this value"
        if abs(diff) > tolerance:
            notes.append(
                f"disagrees: measured {measured:.2f} GMAC/frame, reported {reported:.2f}{scaled}; "
                f"measured is {diff:+.0%}"
            )
            if "vision_gmac_without_attention_handles" in row:
                notes.append(
                    "fvcore/mmengine without the attention handles (eval, no_grad: fused attention "
                    f"uncounted) would give {row['vision_gmac_without_attention_handles']:.1f}"
                )
        else:
            notes.append(f"agrees per frame within {abs(diff):.1%}{scaled}")
    same = [e for e in entries if e is not primary and e.get("frames") == row["frames"]]
    for e in same:
        notes.append(f"{e['source']}: {e['value']:g} at {e['frames']}f")
    out["reference_note"] = "; ".join(notes)
    return out


# -- records ----------------------------------------------------------------------------------------
def record(rows, args=None, device="cpu"):
    """A JSON-ready record: what ran where (``ezclip.records.environment`` with the timing device),
    the counting conventions, and the rows."""
    from ezclip.records import environment

    meta = dict(
        kind="efficiency",
        flop_convention=FLOP_CONVENTION,
        flop_handles=sorted(FLOP_HANDLES),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        machine=environment(device),
    )
    if args is not None:
        meta["args"] = {k: v for k, v in vars(args).items() if k != "func"}
    return dict(meta=meta, rows=rows)


def write_record(path, rows, args=None, device="cpu"):
    """Write ``record(rows, ...)`` to ``path`` atomically."""
    from ezclip.records import write_json

    return write_json(path, record(rows, args, device))


def profile_as_run(models, benchmark, path, log=print):
    """Profile ``models`` as ``benchmark`` runs them (its architecture, frames and input size) into the
    efficiency record ``path``, replacing their earlier rows there; the accuracy-against-cost figures
    next to the tables read it. One thread, so the numbers do not depend on what else the machine runs."""
    path = Path(path)
    kept = [
        r
        for r in (json.loads(path.read_text())["rows"] if path.is_file() else [])
        if r["model"] not in set(models) | {TOWER}
    ]
    log(f"profiling {', '.join(models)} as the {benchmark.name} benchmark runs them ...")
    rows = profile(
        models, arch=benchmark.clip["arch"], frames=benchmark.num_frames, input_size=benchmark.input_size, threads=1
    )
    return write_record(path, rows[:1] + kept + rows[1:])
