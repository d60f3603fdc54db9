# Zero-shot cross-dataset transfer (X-CLIP / ViFi-CLIP protocol): train once on Kinetics-400, then
# evaluate without further training on HMDB-51 and UCF-101 (three official test splits each) and on
# Kinetics-600 novel classes (ViFi-CLIP's three draws of 160). Report the mean and std over splits.
# The classifier covers only the classes of the list evaluated. The source model is also evaluated
# on Kinetics-400 validation (closed set), which shows what zero-shot transfer starts from.
version = 1
title = "Zero-shot cross-dataset transfer"
report = dict(table="accuracy")  # how tables show it: ezclip.tables.TABLE_KINDS
stages = [
    dict(
        name="k400",
        train=dict(dataset="k400", list="train", classes="classes"),
        evaluate=[
            dict(dataset=d, list=f"test_split{s}", classes="classes", group=d)
            for d in ("hmdb51", "ucf101")
            for s in (1, 2, 3)
        ]
        + [dict(dataset="k600", list=f"zeroshot_split{s}", classes=f"novel_split{s}", group="k600") for s in (1, 2, 3)]
        + [dict(dataset="k400", list="val", classes="classes", group="k400")],
    ),
]
# EZ-CLIP's own choices (its repository, not the paper, which could not be read): split 1 only,
# and one 232-way K600 test that includes 12 renamed K400 classes.
# A variant replaces top-level keys of the protocol (here its stages).
variants = dict(
    ezclip_repo=dict(
        stages=[
            dict(
                name="k400",
                train=dict(dataset="k400", list="train", classes="classes"),
                evaluate=[
                    dict(dataset="hmdb51", list="test_split1", classes="classes", group="hmdb51"),
                    dict(dataset="ucf101", list="test_split1", classes="classes", group="ucf101"),
                    dict(dataset="k600", list="zeroshot_232", classes="novel232", group="k600"),
                ],
            )
        ]
    ),
)
