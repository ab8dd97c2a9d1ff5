"""What the shared encoder sees: a spectrogram or a face crop as a normalised 3-channel square image.

Faces: the RGB crop is resized to `image_size` x `image_size` (bilinear, antialiased), scaled to [0, 1]
and normalised with the ImageNet mean and std, as the pretrained encoders expect.

Spectrograms (fixed normalisation, the same for every clip):
1. dB values in [-top_db, 0] (0 dB = the clip's peak) map linearly to [0, 1]; anything below -top_db
   is clipped to 0. `top_db` is melspec.top_db, read from the settings.json the melspec stage wrote.
2. The array is flipped so that low frequencies are at the bottom, like the melspec previews.
3. The (n_mels, frames) array is resized to `image_size` x `image_size` as an image. Every clip's
   spectrogram already has the same duration (melspec crops or pads, never stretches), so this resize
   scales every clip's time axis by the same factor: one pixel is the same time span in every input.
4. The grey image is repeated to 3 channels, and the ImageNet mean and std are applied as for faces,
   so the pretrained first convolution is kept as it is.

A clip of K frames (frame.count > 1) has K face crops: its video input is a (K, 3, S, S) stack of them,
in time order, where one frame's is a (3, S, S) image (the encoder averages a clip's K frames' features:
avemo.modeling.encoders.Encoder.clip_raw).

Augmentation (training only, `train.augmentation`): faces get a random horizontal flip and a small
random shift (each of a clip's K faces its own, as the published code augments each frame); spectrograms
get one time mask and one frequency mask (set to silence, SpecAugment-like).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from avemo.preprocess.clipindex import clip_files

MODALITIES = ("audio", "video")
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
MAX_SHIFT = 0.08  # face augmentation: shift of up to 8% of the side
MAX_MASK = 0.12  # spectrogram augmentation: masks of up to 12% of the time or frequency axis


def _resize(image: torch.Tensor, image_size: int) -> torch.Tensor:
    """(C, H, W) -> (C, image_size, image_size), bilinear and antialiased."""
    return F.interpolate(
        image.unsqueeze(0), size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True
    ).squeeze(0)


def normalise(image: torch.Tensor) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] -> ImageNet-normalised."""
    return (image - IMAGENET_MEAN) / IMAGENET_STD


def spectrogram_unit_image(spectrogram: np.ndarray, image_size: int, top_db: float) -> torch.Tensor:
    """Steps 1-4 of the module docstring except the mean/std: a (3, S, S) image in [0, 1]."""
    if spectrogram.ndim != 2:
        raise ValueError(f"expected a (n_mels, frames) spectrogram, got shape {spectrogram.shape}")
    scaled = np.clip((spectrogram.astype(np.float32) + top_db) / top_db, 0.0, 1.0)
    grey = torch.from_numpy(np.ascontiguousarray(np.flipud(scaled))).unsqueeze(0)
    return _resize(grey, image_size).clamp(0.0, 1.0).expand(3, -1, -1).contiguous()


def face_unit_image(image: Image.Image, image_size: int) -> torch.Tensor:
    """An RGB face crop as a (3, S, S) image in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return _resize(torch.from_numpy(array).permute(2, 0, 1).contiguous(), image_size).clamp(0.0, 1.0)


def augment_face(image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random horizontal flip and a shift of up to MAX_SHIFT (edges replicated)."""
    if torch.rand((), generator=generator) < 0.5:
        image = image.flip(-1)
    size = image.shape[-1]
    pad = max(1, round(MAX_SHIFT * size))
    padded = F.pad(image.unsqueeze(0), (pad, pad, pad, pad), mode="replicate").squeeze(0)
    dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
    return padded[:, dy : dy + size, dx : dx + size]


def augment_spectrogram(image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One time mask and one frequency mask of up to MAX_MASK of the axis, set to silence (0)."""
    image = image.clone()
    size = image.shape[-1]
    for axis in (-1, -2):
        width = int(torch.randint(0, max(1, round(MAX_MASK * size)) + 1, (), generator=generator))
        start = int(torch.randint(0, size - width + 1, (), generator=generator))
        index = [slice(None)] * 3
        index[axis] = slice(start, start + width)
        image[tuple(index)] = 0.0
    return image


def spectrogram_input(
    path: str | Path, image_size: int, top_db: float, augment: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The encoder input of a spectrogram .npy file."""
    image = spectrogram_unit_image(np.load(path, allow_pickle=False), image_size, top_db)
    return normalise(augment_spectrogram(image, generator) if augment else image)


def face_input(
    path: str | Path, image_size: int, augment: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The encoder input of a face crop PNG."""
    with Image.open(path) as image:
        unit = face_unit_image(image, image_size)
    return normalise(augment_face(unit, generator) if augment else unit)


class ClipImages(Dataset):
    """Encoder inputs of clips, one dict per clip: label, and per modality the image and whether it exists.

    `folders` maps each modality used ("audio": the melspec folder, "video": the faces folder) to its
    folder; `present` maps it to one bool per clip (False: the clip failed that modality's
    preprocessing; its image is zeros and the model is told it is missing). `frames`: faces per clip (the
    faces folder's clipindex.frames_per_clip); more than one gives each clip's video a (K, 3, S, S) stack.

    Augmentation draws from a generator seeded by (`seed`, the epoch set by `set_epoch`, the clip's
    position), not from the process's random state: DataLoader worker processes then change nothing in
    the results, however many there are.
    """

    def __init__(
        self,
        clips: list[str],
        labels: list[int],
        folders: dict[str, str | Path],
        present: dict[str, list[bool]],
        *,
        image_size: int,
        top_db: float | None = None,
        augment: bool = False,
        seed: int = 0,
        frames: int = 1,
    ):
        unknown = set(folders) - set(MODALITIES)
        if unknown or not folders:
            raise ValueError(f"modalities must be some of {MODALITIES}, got {sorted(folders)}")
        if "audio" in folders and top_db is None:
            raise ValueError("spectrogram inputs need top_db, the dB range melspec wrote them with")
        self.clips, self.labels = list(clips), list(labels)
        self.folders = {m: Path(f) for m, f in folders.items()}
        self.present = {m: list(present[m]) for m in folders}
        self.image_size, self.top_db, self.augment = image_size, top_db, augment
        self.seed, self.epoch = int(seed), 0
        self.frames = int(frames)

    def set_epoch(self, epoch: int) -> None:
        """Other augmentations every epoch, the same ones every run."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def _image(self, modality: str, clip: str, generator: torch.Generator | None) -> torch.Tensor:
        if modality == "audio":
            return spectrogram_input(
                self.folders["audio"] / f"{clip}.npy", self.image_size, self.top_db, self.augment, generator
            )
        faces = [
            face_input(self.folders["video"] / name, self.image_size, self.augment, generator)
            for name in clip_files(clip, ".png", self.frames)
        ]
        return faces[0] if self.frames == 1 else torch.stack(faces)

    def _missing(self, modality: str) -> torch.Tensor:
        """The zeros that stand for a missing modality's image, shaped as a present one."""
        shape = (3, self.image_size, self.image_size)
        return torch.zeros(*shape) if modality == "audio" or self.frames == 1 else torch.zeros(self.frames, *shape)

    def __getitem__(self, i: int) -> dict:
        item = {"label": self.labels[i]}
        generator = None
        if self.augment:
            generator = torch.Generator().manual_seed(
                int(np.random.SeedSequence([self.seed, self.epoch, i]).generate_state(1)[0])
            )
        for modality in self.folders:
            present = self.present[modality][i]
            image = self._image(modality, self.clips[i], generator) if present else self._missing(modality)
            item[modality], item[f"{modality}_present"] = image, present
        return item


def loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """Batches in a fixed order, or shuffled by a seeded generator. A last training batch of one clip is
    dropped (batch norm cannot train on a single example). `num_workers` processes read and augment the
    images (ClipImages seeds its augmentation per clip, so their number changes no result); pinned
    memory speeds the copy to a GPU."""
    generator = torch.Generator().manual_seed(
        seed
    )  # also the workers' base seed: none is drawn from torch's global state
    drop_last = shuffle and len(dataset) % batch_size == 1
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
