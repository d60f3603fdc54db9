# X-CLIP (arXiv 2208.02816), official code microsoft/VideoX (X-CLIP/) @ 1744b21: CLIP ViT-B/16 with
# cross-frame communication in every vision layer, a 1-layer multi-frame integration transformer
# and a video-specific prompt generator on the (frozen, cached) text features of the bare class
# name; the vision side trains (131,501,056 parameters at 8 frames, 131,513,344 at 32).
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)

model = dict(
    type="XCLIP",
    clip=dict(arch="ViT-B-16", pretrained="openai"),
    num_frames=32,  # the zero-shot model (configs/k400/16_32.yaml, zero.pth); 8 for 16_8.yaml
    mit_layers=1,  # xclip.load defaults: mit_layers=1, prompts_layers=2, prompts_alpha=0.1
    prompt_layers=2,
    prompt_alpha=0.1,
    drop_path=0.0,  # MODEL.DROP_PATH_RATE (0 in every official config)
    templates=["{}"],  # utils/tools.py:generate_text
    trainable=["clip.visual.*", "cct.*", "mit.*", "prompts_*"],  # utils/optimizer.py:fix_text
    loss=dict(type="cross_entropy", label_smoothing=0.1),
    data_preprocessor=dict(type="VideoTextPreprocessor", normalization="imagenet"),
)

# utils/config.py defaults with configs/k400/16_32.yaml (4 per GPU x 8 accumulation x 8 GPUs = 256).
# Optimizer groups (XCLIP.official_param_groups builds them): names containing 'message_', 'mit' or
# 'prompts' at lr x 10; no weight decay on 1-D parameters, biases and positional_embedding.
# Schedule: timm CosineLRScheduler per step, 5 linear warmup epochs from 0, lr_min = lr / 100.
# Test: 3 crops (TEST.NUM_CROP 3: ThreeCrop at short side 224) x TEST.NUM_CLIP 4 clips, as the README's
# test command and main.py's final evaluation run it; softmax scores summed over the 12 views.
# Per-epoch validation is single-view (utils/config.py defaults NUM_CLIP 1, NUM_CROP 1).
recipe = dict(
    optimizer=dict(type="AdamW", lr=8e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.001),
    optim_constructor="OfficialParamGroupsConstructor",
    paramwise_cfg=dict(new_module_lr_mult=10.0),
    epochs=30,
    warmup_epochs=5,
    min_lr_ratio=0.01,
    batch_size=256,
    input_size=224,
    mixup_alpha=0.8,
    cutmix_alpha=1.0,
    mixup_switch_prob=0.5,
    label_smoothing=0.1,
    test_clips=4,
    test_crops=3,
    amp="apex O1",
    precision="fp16",  # the harness's autocast for it
    # configs/{hmdb51,ucf101}/16_32.yaml (few-shot, from CLIP): 4 per GPU x 2 accumulation x 8 = 64
    protocols=dict(fewshot=dict(epochs=50, batch_size=64, optimizer=dict(lr=2e-6))),
)
# The mini benchmark: the common mini recipe with the official parameter groups (new modules at 10x);
# learning rate and epochs by ezclip.recipes.MINI_SEARCH.
mini = dict(
    optim_constructor="OfficialParamGroupsConstructor",
    paramwise_cfg=dict(new_module_lr_mult=10.0),
    optimizer=dict(lr=3e-4, weight_decay=0.001),
)
reference = dict(paper="arXiv 2208.02816", code="github.com/microsoft/VideoX/tree/master/X-CLIP@1744b21")
