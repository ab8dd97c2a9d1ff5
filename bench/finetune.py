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

    python bench/finetune.py --depths --arch efficientnet_lite0 --image-size 128

instead times every trainable depth (encoder.trainable) in one run: for each N, the model the training
stages build training its top N blocks (and the layers after them) and its linear head on the frozen part's
output cached at the cut (avemo.modeling.encoders.Encoder.frozen_part), and evaluating them, each per image
and as a multiple of the frozen encoder's forward pass (what the embed stage computes once per clip); then
the whole encoder fine-tuned on images. Batch norm is frozen as when a pretrained encoder trains; the
weights are random (speed does not depend on them).
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import time

import torch
from torch import nn

from avemo.machine import AMP_MODES, amp_mode
from avemo.modeling.classifiers import build_model, model_config, trainable_parameters
from avemo.modeling.encoders import build_encoder
from avemo.modeling.inference import pick_device
from avemo.modeling.training import autocast_dtype, nhwc

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
    parser.add_argument("--depths", action="store_true", help="time every trainable depth instead (see above)")
    args = parser.parse_args()
    if args.depths:
        return depth_costs(args)

    device = pick_device()
    config = model_config(
        "video",
        {"arch": args.arch, "image_size": args.image_size, "pretrained": False, "trainable": "all"},
        ["ANG", "HAP", "SAD"],
        {"head_hidden": 0, "dropout": 0.2},
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
        timings[name] = seconds_per_image(step, args.steps, args.batch_size, device)
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


def seconds_per_image(step, steps: int, batch: int, device) -> float:
    """Mean seconds per image of `step` (a batch of `batch` images), after one warm-up call."""
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / (steps * batch)


def top_costs(model: nn.Module, cut: torch.Tensor, labels: torch.Tensor, steps: int, batch: int, device):
    """Seconds per image to train and to evaluate `model`'s layers above the cut on cached outputs `cut`."""
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)

    def train_step():
        loss = nn.functional.cross_entropy(model.train()(cut, from_frozen=True), labels)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    @torch.no_grad()
    def eval_step():
        model.eval()(cut, from_frozen=True)

    return seconds_per_image(train_step, steps, batch, device), seconds_per_image(eval_step, steps, batch, device)


def depth_costs(args) -> None:
    device = pick_device()
    encoder = build_encoder(args.arch, pretrained=False, trainable="none").to(device).eval()
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=device)
    labels = torch.randint(0, 3, (args.batch_size,), device=device)
    with torch.no_grad():
        frozen = seconds_per_image(lambda: encoder.raw(images), args.steps, args.batch_size, device)
    print(
        f"{args.arch} at {args.image_size} px, batch {args.batch_size}, on {device}: the frozen encoder's forward pass "
        f"{frozen * 1000:.1f} ms an image (x1.00)"
    )
    print(f"{'trainable':>9} {'weights':>10} {'cut floats':>11} {'train ms/image':>17} {'evaluate ms/image':>19}")
    for depth in ["none", *range(1, len(encoder.blocks) + 1), "all"]:
        config = model_config(
            "video",
            {"arch": args.arch, "image_size": args.image_size, "pretrained": False, "trainable": depth},
            ["ANG", "HAP", "SAD"],
            {"head_hidden": 0, "dropout": 0.2},
        )
        model = build_model(config).to(device)
        model.encoder.frozen_statistics = True  # as a pretrained encoder trains (speed does not depend on it)
        with torch.no_grad():
            cut = model.encoder.eval().frozen_part(images)
        if depth not in ("none", "all"):  # as the training stages run the top on cached feature maps
            model, cut = model.to(memory_format=torch.channels_last), nhwc(cut)
        train, evaluate = top_costs(model, cut, labels, args.steps, args.batch_size, device)
        floats = "images" if depth == "all" else f"{cut[0].numel():,}"
        print(
            f"{depth:>9} {trainable_parameters(model)['all']:>10,} {floats:>11} {train * 1000:>8.1f} "
            f"(x{train / frozen:.2f}) {evaluate * 1000:>10.1f} (x{evaluate / frozen:.2f})"
        )


if __name__ == "__main__":
    main()
