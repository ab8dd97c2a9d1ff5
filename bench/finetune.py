"""Time fine-tuning steps of the shared encoder and estimate what a preset costs in full.

    python bench/finetune.py                                   # vgg16 at 224 px, batch 32 (the course project)
    python bench/finetune.py --arch efficientnet_lite0 --image-size 128
    python bench/finetune.py --clips 273 --epochs 50           # the cost of a whole run of the preset

Builds the AV model the training stages build (random weights: speed does not depend on them), times
`--steps` training steps on random images of one modality and `--steps` evaluation batches, on CUDA when
present (with the pipeline's mixed precision and channels-last) or on the CPU, and prints seconds per
image and an estimate for a whole run: every repeat (5 folds x 2 seeds) of the three models (four
images a clip: the AV model reads two), each training on 3/5 of the clips for `--epochs` epochs and
validating on 1/5 of them every epoch, with no early stop.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from avemo.machine import AMP_MODES, amp_mode
from avemo.modeling.classifiers import build_model, model_config
from avemo.modeling.inference import pick_device
from avemo.modeling.training import autocast_dtype

REPEATS, TRAIN_SHARE, VALIDATION_SHARE = 10, 0.6, 0.2
IMAGES_PER_CLIP = 4  # over the three models: audio 1 (spectrogram), video 1 (face), AV 2 (both)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="vgg16")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up step)")
    parser.add_argument(
        "--amp",
        default=None,
        choices=AMP_MODES,
        help="mixed precision (default: $AVEMO_AMP, else cuda; see avemo.machine)",
    )
    parser.add_argument(
        "--clips", type=int, default=273, help="clips of the preset (course project: 273; six classes: 7442)"
    )
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    device = pick_device()
    config = model_config(
        "video",
        {"arch": args.arch, "image_size": args.image_size, "pretrained": False},
        ["ANG", "HAP", "SAD"],
        {"head_hidden": 0, "dropout": 0.2, "freeze_encoder": False},
    )
    model = build_model(config).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    dtype = autocast_dtype(amp_mode(args.amp), device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=device)
    labels = torch.randint(0, 3, (args.batch_size,), device=device)

    def train_step():
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()

    @torch.no_grad()
    def eval_step():
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            model(images)

    timings = {}
    for name, step in (("train", train_step), ("eval", eval_step)):
        model.train(name == "train")
        step()  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings[name] = (time.perf_counter() - start) / (args.steps * args.batch_size)
    memory = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device.type == "cuda" else ""
    print(
        f"{args.arch} at {args.image_size} px, batch {args.batch_size}, on {device} (autocast {dtype}): "
        f"{timings['train'] * 1000:.1f} ms an image to train, {timings['eval'] * 1000:.1f} ms to evaluate{memory}"
    )
    per_epoch = args.clips * (TRAIN_SHARE * timings["train"] + VALIDATION_SHARE * timings["eval"])
    total = per_epoch * IMAGES_PER_CLIP * args.epochs * REPEATS
    print(
        f"one epoch of a unimodal model on {args.clips} clips: {per_epoch:.0f} s; a whole run ({args.epochs} epochs x "
        f"{REPEATS} repeats x the three models): {total / 3600:.1f} h"
    )


if __name__ == "__main__":
    main()
