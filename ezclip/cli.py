"""``ezclip-bench``: the harness's command line."""
import argparse
import os
import sys

from tabulate import tabulate


def cmd_ls(args):
    from ezclip.zoo import list_models, load_model_config

    if args.what == "models":
        rows = []
        for name, path in list_models().items():
            model = load_model_config(name).model
            rows.append([name, model.type, model.clip.arch, model.get("num_frames", ""), str(path)])
        print(tabulate(rows, headers=["model", "class", "arch", "frames", "config"]))


def count_parameters(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def cmd_profile(args):
    from ezclip.zoo import build_model, list_models

    names = args.models.split(",") if args.models else list(list_models())
    rows = []
    for name in names:
        model = build_model(name, arch=args.arch, frames=args.frames, pretrained=None)
        total, trainable = count_parameters(model)
        rows.append([name, model.arch, model.num_frames, f"{total:,}", f"{trainable:,}"])
        del model
    if not args.params_only:
        print("FLOP and throughput profiling is not available yet; showing parameters only.", file=sys.stderr)
    print(tabulate(rows, headers=["model", "arch", "frames", "params total", "params trainable"],
                   colalign=("left", "left", "right", "right", "right")))


def cmd_convert(args):
    import torch

    from ezclip.models import EZCLIP

    converters = {"ezclip": EZCLIP.from_official_state_dict}
    checkpoint = torch.load(args.official, map_location="cpu", weights_only=False)
    state = checkpoint.get("model_state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    converted = converters[args.model](state)
    tmp = f"{args.output}.tmp"
    torch.save(dict(state_dict=converted, meta=dict(converted_from=os.path.abspath(args.official))), tmp)
    os.replace(tmp, args.output)  # never leave a half-written checkpoint
    print(f"wrote {args.output}: {len(converted)} tensors; load it with load_from= or --checkpoint")


def build_parser():
    parser = argparse.ArgumentParser(prog="ezclip-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("ls", help="list registered things")
    ls.add_argument("what", choices=["models"])
    ls.set_defaults(func=cmd_ls)

    profile = sub.add_parser("profile", help="parameters (and, later, FLOPs and throughput) per model")
    profile.add_argument("--models", help="comma-separated model names (default: all registered)")
    profile.add_argument("--arch", help="override the CLIP architecture, e.g. ViT-B-16, ViT-L-14, ezclip-tiny")
    profile.add_argument("--frames", type=int, help="override the number of frames")
    profile.add_argument("--params-only", action="store_true", help="count parameters only")
    profile.set_defaults(func=cmd_profile)

    convert = sub.add_parser("convert", help="convert an official checkpoint to this harness's model")
    convert.add_argument("model", choices=["ezclip"])
    convert.add_argument("official", help="official checkpoint file (e.g. EZ-CLIP's .pt with model_state_dict)")
    convert.add_argument("output", help="where to write the converted checkpoint")
    convert.set_defaults(func=cmd_convert)

    from ezclip import splits

    splits.add_commands(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    import ezclip  # noqa: F401  (stack fixes, registries)
    from ezclip.errors import EzclipError

    try:
        args.func(args)
    except EzclipError as exc:
        print(f"ezclip-bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
