# EZ-CLIP on the tiny architecture, trained and validated on the mini benchmark's K400 role, as a
# plain mmengine config for mmaction2's tools (tools/train.py, tools/test.py) or Runner.from_cfg.
# EZCLIP_MINI_ROOT: the generated mini benchmark (printed by `ezclip-bench run`, under .cache/).
custom_hooks = [
    dict(type="ClassTextHook"),
]
custom_imports = dict(
    allow_failed_imports=False,
    imports=[
        "ezclip",
    ],
)
default_hooks = dict(
    checkpoint=None,
    logger=dict(interval=10, type="LoggerHook"),
    param_scheduler=dict(type="ParamSchedulerHook"),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    timer=dict(type="IterTimerHook"),
)
default_scope = "mmaction"
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo"), mp_cfg=dict(mp_start_method="fork"))
launcher = "none"
log_level = "INFO"
log_processor = dict(by_epoch=True, type="LogProcessor", window_size=10)
model = dict(
    clip=dict(arch="ezclip-tiny"),
    data_preprocessor=dict(normalization="clip", type="VideoTextPreprocessor"),
    num_frames=4,
    templates=[
        "a photo of a {}",
    ],
    type="EZCLIP",
)
optim_wrapper = dict(
    optimizer=dict(
        betas=(
            0.9,
            0.98,
        ),
        eps=1e-08,
        lr=0.001,
        type="AdamW",
        weight_decay=0.2,
    )
)
param_scheduler = [
    dict(T_max=4, begin=0, by_epoch=True, convert_to_iter_based=True, end=4, eta_min=0.0, type="CosineAnnealingLR"),
]
randomness = dict(deterministic=False, seed=0)
train_cfg = dict(max_epochs=4, type="EpochBasedTrainLoop", val_interval=4)
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        ann_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/splits/k400/train.txt",
        class_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/splits/k400/classes.csv",
        data_prefix=dict(video="{{$EZCLIP_MINI_ROOT:.cache/mini}}/videos/k400"),
        description_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/descriptions/Kinetic_400_gpt_Class_discription_new.csv",
        on_error="raise",
        pipeline=[
            dict(
                backends=(
                    "decord",
                    "pyav",
                ),
                type="VideoInit",
            ),
            dict(clip_len=1, frame_interval=1, num_clips=4, type="SampleFrames"),
            dict(type="VideoDecode"),
            dict(
                scale=(
                    -1,
                    37,
                ),
                type="Resize",
            ),
            dict(
                input_size=32,
                max_wh_scale_gap=1,
                random_crop=False,
                scales=(
                    1,
                    0.875,
                    0.75,
                    0.66,
                ),
                type="MultiScaleCrop",
            ),
            dict(
                keep_ratio=False,
                scale=(
                    32,
                    32,
                ),
                type="Resize",
            ),
            dict(brightness=0.4, contrast=0.4, hue=0.1, saturation=0.2, type="ColorJitter"),
            dict(input_format="NCHW", type="FormatShape"),
            dict(type="PackActionInputs"),
        ],
        subset=None,
        test_mode=False,
        type="VideoListDataset",
    ),
    drop_last=False,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=True, type="DefaultSampler"),
)
val_cfg = dict(type="ValLoop")
val_dataloader = dict(
    batch_size=16,
    dataset=dict(
        ann_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/splits/k400/val.txt",
        class_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/splits/k400/classes.csv",
        data_prefix=dict(video="{{$EZCLIP_MINI_ROOT:.cache/mini}}/videos/k400"),
        description_file="{{$EZCLIP_MINI_ROOT:.cache/mini}}/descriptions/Kinetic_400_gpt_Class_discription_new.csv",
        on_error="raise",
        pipeline=[
            dict(
                backends=(
                    "decord",
                    "pyav",
                ),
                type="VideoInit",
            ),
            dict(clip_len=1, frame_interval=1, num_clips=4, test_mode=True, type="SampleFrames"),
            dict(type="VideoDecode"),
            dict(
                scale=(
                    -1,
                    37,
                ),
                type="Resize",
            ),
            dict(crop_size=32, type="CenterCrop"),
            dict(input_format="NCHW", type="FormatShape"),
            dict(type="PackActionInputs"),
        ],
        subset=None,
        test_mode=True,
        type="VideoListDataset",
    ),
    drop_last=False,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(round_up=False, shuffle=False, type="DefaultSampler"),
)
val_evaluator = dict(reversal_pairs=[], type="VideoAccMetric")
work_dir = "work_dirs/ezclip_tiny_mini_k400"
