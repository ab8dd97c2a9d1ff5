"""Images per second of the embed stage: its own function (avemo.modeling.embedding.embed_modality) on the
pipeline's spectrograms and faces, today's way against the way before, alternately, in one run.

    python bench/embed.py                                # after dvc repro: data/melspec, data/faces
    python bench/embed.py --batch-sizes 16 32 64 128 --threads 1 2 --variants

The ways, each the whole stage's work for one modality (reading and scaling the images, the frozen part of
params.yaml's encoder, the copy to numpy):
- `now`: what the stage runs, inference mode and channels-last images (Encoder.memory_format);
- `before`: what it ran before (torch.no_grad, images in PyTorch's default contiguous layout), the baseline;
- with `--variants` also each change alone (`no_grad+channels_last`, `inference+contiguous`).

Each line gives images/s per modality, the median of `--rounds` rounds (every way once per round, in turn,
so that a machine's load hits all alike), and the ratio to the baseline: `before` at `--baseline-batch` (64,
the stage's batch size before this change) with the same threads. The stage holds 2 threads (avemo.kernels:
the thread count changes the bytes), so other thread counts are for comparison only.
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from avemo.modeling import embedding
from avemo.modeling.encoders import Encoder, build_encoder
from avemo.params import read_params

WAYS = {  # name: (grad mode, memory format); `now` is read from the stage's code, so it stays what the stage runs
    "before": (torch.no_grad, torch.contiguous_format),
    "now": (embedding.GRAD_MODE, Encoder.memory_format),
}
VARIANTS = {
    "no_grad+channels_last": (torch.no_grad, torch.channels_last),
    "inference+contiguous": (torch.inference_mode, torch.contiguous_format),
}


def images_per_second(encoder, modality: str, folder: str, way, image_size: int, batch_size: int) -> float:
    embedding.GRAD_MODE, Encoder.memory_format = way
    start = time.perf_counter()
    clips, _ = embedding.embed_modality(
        encoder, modality, folder, image_size=image_size, batch_size=batch_size, device=torch.device("cpu")
    )
    return len(clips) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (its `encoder` section)")
    parser.add_argument("--melspec", default="data/melspec", help="the melspec stage's output folder")
    parser.add_argument("--faces", default="data/faces", help="the face_crop stage's output folder")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each way once per round)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64], help="images per forward pass")
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="torch intra-op threads")
    parser.add_argument("--variants", action="store_true", help="also each of the two changes alone")
    parser.add_argument(
        "--baseline-batch",
        type=int,
        default=64,
        help="batch size of the baseline, `before` (64: the stage's default before channels-last)",
    )
    args = parser.parse_args()
    folders = {"audio": args.melspec, "video": args.faces}
    for folder in folders.values():
        if not (Path(folder) / "index.csv").is_file():
            print(f"bench/embed.py: {folder}/index.csv is missing: run dvc repro first", file=sys.stderr)
            return 2
    params = read_params(args.params, "encoder")["encoder"]
    encoder = build_encoder(params["arch"], bool(params["pretrained"]), params["trainable"])
    ways = {**WAYS, **(VARIANTS if args.variants else {})}
    print(
        f"embed: {params['arch']} at {params['image_size']} px, trainable {params['trainable']}, on the CPU; "
        f"median images/s of {args.rounds} round(s), ratio to `before` at batch {args.baseline_batch}",
        flush=True,
    )
    for threads in args.threads:
        torch.set_num_threads(threads)
        # every way at every batch size, and the baseline (`before` at --baseline-batch), once per round
        runs = [("before", args.baseline_batch)] + [(way, b) for b in args.batch_sizes for way in ways]
        runs = list(dict.fromkeys(runs))
        rates = {(run, m): [] for run in runs for m in folders}
        for _ in range(args.rounds):
            for way, batch_size in runs:
                for modality, folder in folders.items():
                    rate = images_per_second(
                        encoder, modality, folder, ways[way], int(params["image_size"]), batch_size
                    )
                    rates[(way, batch_size), modality].append(rate)
        for way, batch_size in runs:
            figures = []
            for modality in folders:
                rate = statistics.median(rates[(way, batch_size), modality])
                ratio = rate / statistics.median(rates[runs[0], modality])
                figures.append(f"{modality} {rate:6.1f} ({ratio:.2f}x)")
            print(f"threads {threads}  batch {batch_size:4d}  {way:22s} " + "  ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
