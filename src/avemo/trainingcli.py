"""The three training stages' command line: their inputs and outputs, without importing torch, so that
a stage checks its arguments and params before the slow imports (`run_training` imports them)."""

from __future__ import annotations

import argparse

MODALITIES_OF = {"audio": ("audio",), "video": ("video",), "av": ("audio", "video")}


def training_parser(kind: str, description: str) -> argparse.ArgumentParser:
    """The command line of stages/train_<kind>.py: its inputs and outputs."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = "`lr`, `encoder`, `train`" + (" and `fusion`" if kind == "av" else "")
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads {sections})")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    if "audio" in MODALITIES_OF[kind]:
        parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage (<clip>.npy, index.csv, settings.json)")
    if "video" in MODALITIES_OF[kind]:
        parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage (<clip>.png, index.csv, settings.json)")
    parser.add_argument("--embeddings", default="data/embeddings", help="output folder of the embed stage (read when train.freeze_encoder)")
    parser.add_argument("--models", default=f"models/{kind}", help="folder for the checkpoints, one per fold and seed")
    parser.add_argument("--metrics", default=f"metrics/train_{kind}.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default=f"dvclive/train_{kind}", help="dvclive folder for the curves and repeats.csv")
    return parser


def folders_of(kind: str, args: argparse.Namespace) -> dict[str, str]:
    """The input folder of each modality a model of `kind` reads, from its parsed command line."""
    return {m: args.melspec if m == "audio" else args.faces for m in MODALITIES_OF[kind]}


def run_training(kind: str, args: argparse.Namespace, params: dict) -> int:
    """Train a stage's models from its parsed command line and its checked params (lr, encoder, train,
    and fusion for the AV model)."""
    from avemo.training import train_repeats  # torch: only once the params are known to be right

    train_repeats(kind, split_path=args.split, folders=folders_of(kind, args), embeddings_dir=args.embeddings, models_dir=args.models,
                  metrics_path=args.metrics, live_dir=args.live, lr=float(params["lr"]), encoder=params["encoder"],
                  train=params["train"], fusion=params.get("fusion"))
    return 0
