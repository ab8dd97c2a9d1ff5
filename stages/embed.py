"""Stage embed: the output of the encoder's frozen layers for every spectrogram and every face, computed once.

The encoder of params.yaml `encoder` (arch, pretrained, image_size) in its pretrained state, in eval
mode and without augmentation, reads each clip's spectrogram (scaled by the dB range melspec wrote) and
face crop as the models do. What its layers below encoder.trainable's cut make of them is saved per
modality (see avemo.modeling.embedding): the pooled features (trainable none), the feature maps entering
the top N blocks (trainable N), or nothing (trainable all). Every fold, seed and model of the training
stages reuses them, so the repeated training runs only the layers above the cut and the heads.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import sys

from avemo.errors import run_stage
from avemo.machine import inference_batch_size
from avemo.params import read_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `encoder` section)")
    parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage")
    parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage")
    parser.add_argument(
        "--out", default="data/embeddings", help="output folder: a subfolder per modality (audio, video)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per forward pass: speed and memory; on the CPU also the features' last digits "
        "(default: $AVEMO_BATCH_SIZE, else 8 on the CPU, 64 on a GPU)",
    )
    args = parser.parse_args()
    if args.batch_size is None:
        inference_batch_size()  # a bad $AVEMO_BATCH_SIZE is reported before the slow imports
    encoder_params = read_params(args.params, "encoder")["encoder"]
    import torch  # slow imports only once the params are known to be right

    from avemo.modeling.embedding import embed_modality, write_embeddings
    from avemo.modeling.encoders import build_encoder
    from avemo.modeling.inference import pick_device

    device = pick_device()
    batch_size = args.batch_size or inference_batch_size(device.type)
    torch.manual_seed(
        0
    )  # with encoder.pretrained false the random weights, and so the features, are the same every run
    encoder = build_encoder(encoder_params["arch"], bool(encoder_params["pretrained"]), encoder_params["trainable"]).to(
        device
    )
    for modality, folder in {"audio": args.melspec, "video": args.faces}.items():
        clips, features = embed_modality(
            encoder,
            modality,
            folder,
            image_size=int(encoder_params["image_size"]),
            batch_size=batch_size,
            device=device,
        )
        write_embeddings(args.out, modality, clips, features, encoder_params)
        shape = " x ".join(map(str, features.shape[1:]))
        print(f"embed: {modality}: {len(clips)} clips, each {shape} floats at the cut", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_stage("embed", main))
