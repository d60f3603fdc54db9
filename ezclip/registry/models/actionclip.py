# ActionCLIP (arXiv 2109.08472), official code sallymmx/ActionCLIP @ 31c34df: both CLIP towers
# fine-tuned, post-network "Transf" fusion head (6 blocks), 16 text templates, symmetric KL loss,
# 8 frames (the official default; the X-CLIP/ViFi comparisons re-ran it at 32).
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)

model = dict(
    type="ActionCLIP",
    clip=dict(arch="ViT-B-16", pretrained="openai"),
    num_frames=8,
    fusion="Transf",  # the official sim_header: meanP, Conv_1D, LSTM, Transf, Transf_cls
    test_logit_scale=100.0,  # test.py scores with a fixed 100; training uses exp(logit_scale)
    data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"),
)

# configs/k400/k400_train.yaml (utils/solver.py, optim 'adamw'): AdamW over all parameters, the fusion
# head at lr x f_ratio (10), the visual tower at lr x ratio (1), weight decay 0.2 on every parameter;
# cosine schedule with 5 warmup epochs; RandAugment N=2 M=9. Batch 128 (K400); the HMDB and UCF
# configs use 64 and 32 with the same lr. `paramwise_cfg` is mmengine's (optim_wrapper.paramwise_cfg).
# Mixed precision by hand on GPU: CLIP weights in fp16, converted to fp32 for each optimizer step.
recipe = dict(
    optimizer=dict(type="AdamW", lr=5e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.2),
    paramwise_cfg=dict(custom_keys={"fusion.": dict(lr_mult=10.0)}),
    epochs=50,
    warmup_epochs=5,
    batch_size=128,
    input_size=224,
    test_clips=1,
    test_crops=1,
    test_preprocessing="actionclip",  # its own frame choice and PIL bicubic resize (ezclip.data.actionclip)
    randaugment=dict(num_ops=2, magnitude=9),
    amp="fp16 weights, fp32 optimizer step",
    precision="fp16",  # the harness's autocast for it
)
reference = dict(paper="arXiv 2109.08472", code="github.com/sallymmx/ActionCLIP@31c34df")
# The mini benchmark: the common mini recipe with the official parameter groups (the fusion head at 10x);
# learning rate and epochs by ezclip.recipes.MINI_SEARCH.
mini = dict(paramwise_cfg=dict(custom_keys={"fusion.": dict(lr_mult=10.0)}))
