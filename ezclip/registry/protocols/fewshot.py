# Few-shot (X-CLIP / ViFi-CLIP protocol): K in {2, 4, 8, 16} videos per class from the split-1 train
# set (one fixed sample per K), trained from CLIP, evaluated on split 1 (SSv2: the validation set)
# against all classes.
version = 1
title = "Few-shot"
report = dict(table="accuracy")  # how tables show it: ezclip.tables.TABLE_KINDS
stages = [
    dict(
        name=f"{d}_k{k}",
        train=dict(dataset=d, list=f"fewshot_{k}", classes="classes"),
        evaluate=[dict(dataset=d, list="val" if d == "ssv2" else "test_split1", classes="classes", group=f"{d}/k{k}")],
    )
    for d in ("hmdb51", "ucf101", "ssv2")
    for k in (2, 4, 8, 16)
]
variants = dict()
