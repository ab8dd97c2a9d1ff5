"""The three training stages' command line: their inputs and outputs, without importing torch, so that
a stage checks its arguments and params before the slow imports (`run_training` imports them)."""

from __future__ import annotations

import argparse

from avemo.machine import amp_mode, loader_workers
from avemo.modeling.kinds import MODALITIES_OF


def training_parser(kind: str, description: str) -> argparse.ArgumentParser:
    """The command line of stages/train_<kind>.py: its inputs and outputs."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = "`lr`, `encoder`, `train`" + (" and `fusion`" if kind == "av" else "")
    parser.add_argument("--params", default="params.yaml", help=f"params file (reads {sections})")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    parser.add_argument(
        "--corpus",
        default="data/corpus.json",
        help="what the clips are (list_clips): every checkpoint records whether they are the synthetic sample",
    )
    if "audio" in MODALITIES_OF[kind]:
        parser.add_argument(
            "--melspec",
            default="data/melspec",
            help="output folder of the melspec stage (<clip>.npy, index.csv, settings.json)",
        )
    if "video" in MODALITIES_OF[kind]:
        parser.add_argument(
            "--faces",
            default="data/faces",
            help="output folder of the face_crop stage (<clip>.png, index.csv, settings.json)",
        )
        parser.add_argument(
            "--frames",
            default="data/frames",
            help="output folder of extract_middle_frame: its settings.json (which frames; kept in the checkpoints)",
        )
    parser.add_argument(
        "--embeddings",
        default="data/embeddings",
        help="output folder of the embed stage (its frozen-layer outputs; read unless encoder.trainable is all)",
    )
    parser.add_argument("--models", default=f"models/{kind}", help="folder for the checkpoints, one per fold and seed")
    parser.add_argument("--metrics", default=f"metrics/train_{kind}.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default=f"dvclive/train_{kind}", help="dvclive folder for the curves and repeats.csv")
    machine = parser.add_argument_group(
        "machine settings (fine-tuning only; they change no result, so they are not params)"
    )
    machine.add_argument(
        "--loader-workers",
        default=None,
        help="processes that read and augment images: auto or a number (default: $AVEMO_LOADER_WORKERS, else auto = "
        "every core but one, at most 8)",
    )
    machine.add_argument(
        "--amp",
        default=None,
        help="mixed precision: cuda (float16 on a GPU), always (also bfloat16 on the CPU) or off (default: "
        "$AVEMO_AMP, else cuda)",
    )
    return parser


def folders_of(kind: str, args: argparse.Namespace) -> dict[str, str]:
    """The input folder of each modality a model of `kind` reads, from its parsed command line."""
    return {m: args.melspec if m == "audio" else args.faces for m in MODALITIES_OF[kind]}


def run_training(kind: str, args: argparse.Namespace, params: dict) -> int:
    """Train a stage's models from its parsed command line and its checked params (lr, encoder, train,
    and fusion for the AV model)."""
    from avemo.corpus.provenance import read_corpus
    from avemo.modeling.training import train_repeats  # torch: only once the params are known to be right

    train_repeats(
        kind,
        split_path=args.split,
        synthetic_sample=read_corpus(args.corpus)["synthetic_sample"],
        folders=folders_of(kind, args),
        embeddings_dir=args.embeddings,
        models_dir=args.models,
        metrics_path=args.metrics,
        live_dir=args.live,
        frames_dir=args.frames if "video" in MODALITIES_OF[kind] else None,
        lr=float(params["lr"]),
        encoder=params["encoder"],
        train=params["train"],
        fusion=params["fusion"] if kind == "av" else None,
        loader_workers=loader_workers(args.loader_workers),
        amp=amp_mode(args.amp),
    )
    return 0
