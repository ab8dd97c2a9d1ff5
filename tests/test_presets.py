"""The presets of presets/*.args (parameter values applied as a DVC experiment) are valid: each runs on
the synthetic sample with its own values, only with three folds and one seed (values the presets do not
set), one epoch and 64 px images, so that it fits the CPU."""

import json

import pytest

from avemo.params import violations
from helpers import REPO_ROOT, TINY_PARAMS, dvc, make_repo_copy

PRESETS = sorted((REPO_ROOT / "presets").glob("*.args"))
SIX = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]


def overrides_of(preset) -> list[str]:
    """The `key=value` of every `-S key=value` line (lines starting with # are comments)."""
    tokens = " ".join(line for line in preset.read_text().splitlines() if not line.startswith("#")).split()
    assert tokens[::2] == ["-S"] * (len(tokens) // 2), tokens
    return tokens[1::2]


def test_every_preset_names_known_keys_with_allowed_values():
    import yaml

    from avemo.params import SCHEMA

    for preset in PRESETS:
        params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
        params["data"]["raw_dir"] = "/home/you/crema-d/VideoFlash"  # as the README's command sets it
        for override in overrides_of(preset):
            key, _, value = override.partition("=")
            section, _, field = key.partition(".")
            assert section in SCHEMA and (not field or field in SCHEMA[section]), (preset.name, key)
            value = yaml.safe_load(value.replace(",", ", ")) if value.startswith("[") else yaml.safe_load(value)
            if field:
                params[section][field] = value
            else:
                params[section] = value
        assert violations(params, list(SCHEMA)) == [], preset.name


@pytest.fixture(scope="module")
def cached_vgg16(tmp_path_factory):
    """A torch hub cache holding a file where torchvision looks for VGG16's ImageNet weights (random
    weights: the test checks that the preset runs, not what it scores; nothing can be downloaded here)."""
    import torch
    import torchvision

    home = tmp_path_factory.mktemp("torch_home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), home / "hub" / "checkpoints" / "vgg16-397923af.pth")
    return home


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_a_preset_runs_on_the_sample(tmp_path, preset, cached_vgg16):
    # one epoch and 64 px images (the presets' 224 px VGG16 and ResNet18 cost minutes a model on a CPU)
    shrunk = {"train.epochs": "train.epochs=1", "encoder.image_size": "encoder.image_size=64"}
    overrides = [shrunk.get(o.partition("=")[0], o) for o in overrides_of(preset)]
    base = {
        **TINY_PARAMS,
        "sample": {**TINY_PARAMS["sample"], "actors": 5, "emotions": SIX, "levels": ["LO", "MD", "HI"]},
        "split": {**TINY_PARAMS["split"], "folds": 3},
        "train": {**TINY_PARAMS["train"], "seeds": [0]},
    }
    repo = make_repo_copy(tmp_path / "repo", base)
    done = dvc(
        repo, "exp", "run", *[arg for o in overrides for arg in ("-S", o)], env={"TORCH_HOME": str(cached_vgg16)}
    )
    assert "Running stage 'eval_cross'" in done.stdout, done.stdout
    cross = json.loads((repo / "metrics" / "eval_cross.json").read_text())
    split = json.loads((repo / "metrics" / "split.json").read_text())
    classes = [o for o in overrides if o.startswith("data.classes=")][0].partition("=")[2].strip("[]").split(",")
    levels = [o for o in overrides if o.startswith("data.levels=")][0].partition("=")[2].strip("[]")
    # 5 actors: IEO at HI only (course project), or 6 emotions x (IEO at 3 levels, NEU at XX) (six classes)
    clips = 5 * len(classes) if levels == "HI" else 5 * (5 * 3 + 1)
    if "split.scheme=ogm_ge" in overrides:  # one fold of the published lists, which hold every sample clip
        assert cross["av_on_both"]["repeats"] == 1 and split["actors_in_two_parts"] == 5
        assert split["published_list_clips_found"] == split["clips"] == clips
    else:
        assert cross["av_on_both"]["repeats"] == 3 and split["clips"] == clips
