# Base-to-novel generalisation (ViFi-CLIP protocol): per dataset, train on 16 shots of each base
# class (three samples, "seeds"), evaluate base test videos against base classes and novel test
# videos against novel classes (two separate, non-generalised evaluations). Report base, novel and
# HM = 2BN/(B+N) of the seed means.
version = 1
title = "Base-to-novel generalisation"
report = dict(table="base_novel")  # how tables show it: ezclip.tables.TABLE_KINDS
stages = [
    dict(
        name=f"{d}_s{s}",
        train=dict(dataset=d, list=f"base_train_s{s}", classes="base"),
        evaluate=[
            dict(dataset=d, list="base_test", classes="base", group=f"{d}/base"),
            dict(dataset=d, list="novel_test", classes="novel", group=f"{d}/novel"),
        ],
    )
    for d in ("k400", "hmdb51", "ucf101", "ssv2")
    for s in (1, 2, 3)
]
# EZ-CLIP's released configs train on the full base-class train set instead of 16 shots.
# A variant replaces top-level keys of the protocol (here its stages).
variants = dict(
    full_base=dict(
        stages=[
            dict(
                name=f"{d}_full",
                train=dict(dataset=d, list="base_train_full", classes="base"),
                evaluate=[
                    dict(dataset=d, list="base_test", classes="base", group=f"{d}/base"),
                    dict(dataset=d, list="novel_test", classes="novel", group=f"{d}/novel"),
                ],
            )
            for d in ("k400", "hmdb51", "ucf101", "ssv2")
        ]
    ),
)
