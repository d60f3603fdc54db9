# ViFi-CLIP (arXiv 2212.03640), official code muzairkhattak/ViFi-CLIP @ e2d1948: both CLIP towers
# fine-tuned (the token embedding is a precomputed buffer there, so it is frozen here), frame
# features mean-pooled, prompt "a photo of a {}.", cross-entropy with label smoothing and mixup/cutmix.
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)

model = dict(
    type="VideoCLIP",
    clip=dict(arch="ViT-B-16", pretrained="openai"),
    num_frames=32,
    templates=["a photo of a {}."],
    trainable=["clip.*"],
    frozen=["clip.token_embedding.*"],
    loss=dict(type="cross_entropy", label_smoothing=0.1),
    data_preprocessor=dict(type="VideoTextPreprocessor", normalization="imagenet"),
)

# configs/zero_shot/train/k400/16_16_vifi_clip.yaml (NUM_FRAMES 32), mixup 0.8 / cutmix 1.0.
recipe = dict(
    optimizer=dict(type="AdamW", lr=8e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.001),
    epochs=10,
    warmup_epochs=5,
    batch_size=256,
    input_size=224,
    test_crops=1,
    mixup_alpha=0.8,
    cutmix_alpha=1.0,
    mixup_switch_prob=0.5,  # utils/config.py defaults, as X-CLIP
    amp="apex O1",
    precision="fp16",  # the harness's autocast for it
    # configs/base2novel/finetuning_base2novel/*/16_32_vifi_clip_s*.yaml and configs/few_shot/finetuning_few_shot/
    # */16_32_vifi_clip_*_shot.yaml: 4 per GPU x 2 accumulation x 8 = 64, from CLIP
    protocols=dict(
        base2novel=dict(epochs=11, batch_size=64, optimizer=dict(lr=2e-6)),
        fewshot=dict(epochs=50, batch_size=64, optimizer=dict(lr=2e-6)),
    ),
)
reference = dict(paper="arXiv 2212.03640", code="github.com/muzairkhattak/ViFi-CLIP@e2d1948")
