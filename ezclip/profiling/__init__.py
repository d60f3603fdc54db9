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

Modules: ``paths`` (what is counted and timed), ``flops``, ``timing``, ``reference`` (the papers'
numbers), ``run`` (one profiling run and its record).
"""

from ezclip.profiling.flops import FLOP_CONVENTION, count_macs, model_flops, tower_flops, vit_analytic_macs
from ezclip.profiling.paths import TOWER, ImageTower, check_input_size
from ezclip.profiling.reference import reference_by_model, reference_for
from ezclip.profiling.run import profile, profile_as_run, record, write_record

__all__ = [
    "FLOP_CONVENTION",
    "TOWER",
    "ImageTower",
    "check_input_size",
    "count_macs",
    "model_flops",
    "profile",
    "profile_as_run",
    "record",
    "reference_by_model",
    "reference_for",
    "tower_flops",
    "vit_analytic_macs",
    "write_record",
]
