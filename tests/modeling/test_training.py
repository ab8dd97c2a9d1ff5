"""Training on a tiny fake corpus: one model per fold and seed, epoch chosen on validation, test parts
never read, the frozen layers' outputs computed once and their weights never changed, the AV model's
trained layers shared or separate, failed clips left out."""

import pandas as pd
import pytest
import torch

from avemo.corpus.split_table import read_split
from avemo.modeling.checkpoints import RUN_REPEATS, SYNTHETIC_SAMPLE, load_checkpoint
from avemo.modeling.classifiers import build_model
from avemo.modeling.embedding import embed_modality
from avemo.modeling.encoders import Encoder, build_encoder
from avemo.modeling.inference import predict
from avemo.modeling.inputs import loader
from avemo.modeling.loading import FeatureBatches, clips_for, image_dataset, modality_table
from avemo.modeling.training import autocast_dtype, set_seed
from avemo.preprocess.clipindex import read_index
from helpers import CLASSES, FACE_SETTINGS, REPO_ROOT, SPECTROGRAM_SETTINGS, TRAIN, run_stage, train_models


def read_curve(live_dir, name):
    return pd.read_csv(live_dir / "plots" / "metrics" / name, sep="\t")


def test_one_model_per_fold_and_seed_each_choosing_its_epoch_on_validation(model_corpus, tmp_path):
    metrics, written, repeats = train_models(model_corpus, tmp_path, "audio")
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [
        "fold0_seed0.pt",
        "fold0_seed1.pt",
        "fold1_seed0.pt",
        "fold1_seed1.pt",
    ]
    assert set(written) == {
        "repeats",
        "val_accuracy",
        "val_accuracy_std",
        "val_loss",
        "train_accuracy",
        "best_epoch",
        "trainable_parameters",
        "trainable_encoder_parameters",
    }
    assert not [k for k in written if k.startswith("test")]
    assert metrics == pytest.approx(written, abs=5e-5)  # the file holds them rounded to 4 decimals
    assert written["repeats"] == 4 and list(zip(repeats["fold"], repeats["seed"])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert written["val_accuracy"] == pytest.approx(repeats["val_accuracy"].mean(), abs=1e-4)

    # The curves are the first repeat's: the kept epoch is its best validation accuracy (ties: lower loss).
    val, val_loss = read_curve(tmp_path / "live", "val/accuracy.tsv"), read_curve(tmp_path / "live", "val/loss.tsv")
    first = repeats.iloc[0].to_dict()
    first = {k: int(v) if k in ("best_epoch", "epochs_run") else v for k, v in first.items()}
    assert list(val["step"]) == list(range(1, first["epochs_run"] + 1))
    best = max(range(len(val)), key=lambda i: (val["accuracy"][i], -val_loss["loss"][i]))
    assert first["best_epoch"] == best + 1 and first["val_accuracy"] == pytest.approx(val["accuracy"][best], abs=1e-4)
    assert first["epochs_run"] == TRAIN["epochs"] or first["epochs_run"] - first["best_epoch"] == TRAIN["patience"]

    # A checkpoint holds the trained top block, the standardisation and the head; rebuilt on the pretrained
    # encoder, it gives on images the validation accuracy it reached on the cached frozen-layer outputs.
    checkpoint = torch.load(tmp_path / "audio" / "fold1_seed1.pt", weights_only=True)
    blocks = {k.split(".")[2] for k in checkpoint["state_dict"] if k.startswith("encoder.blocks.")}
    assert checkpoint["config"]["trainable"] == 1 and blocks == {"15"}
    assert (
        checkpoint["config"]["preprocessing"] == {"audio": SPECTROGRAM_SETTINGS}
        and checkpoint["config"]["classes"] == CLASSES
    )
    model, _ = load_checkpoint(tmp_path / "audio" / "fold1_seed1.pt")
    split = read_split(model_corpus["split"])
    table, _ = modality_table(split[split["fold"] == 1], {"audio": read_index(model_corpus["folders"]["audio"])})
    rows = clips_for(table[table["part"] == "validation"], ("audio",))
    labels, predictions, _ = predict(
        model,
        loader(image_dataset(rows, ("audio",), model_corpus["folders"], CLASSES, image_size=32, top_db=80), 8),
        ("audio",),
        "cpu",
    )
    assert (labels == predictions).mean() == pytest.approx(checkpoint["info"]["val_accuracy"], abs=1e-6)


def test_the_frozen_layers_run_once_per_clip_whatever_the_folds_and_seeds(model_corpus, tmp_path, monkeypatch):
    seen = []
    frozen_part = Encoder.frozen_part
    monkeypatch.setattr(
        Encoder, "frozen_part", lambda self, images: seen.append(len(images)) or frozen_part(self, images)
    )
    embed_modality(
        build_encoder("efficientnet_lite0", True, trainable=1),
        "audio",
        model_corpus["folders"]["audio"],
        image_size=32,
        batch_size=8,
        device="cpu",
    )
    assert sum(seen) == 36  # every clip once
    seen.clear()
    train_models(model_corpus, tmp_path, "av", seeds=[0, 1, 2])  # 2 folds x 3 seeds, both modalities
    assert seen == []  # training reads the cached outputs: the frozen layers never run


def test_test_labels_do_not_influence_training(model_corpus, tmp_path):
    first = train_models(model_corpus, tmp_path / "a", "audio")[1]
    split = pd.read_csv(model_corpus["split"])
    test = split["part"] == "test"
    split.loc[test, "emotion"] = split.loc[test, "emotion"].map({"ANG": "HAP", "HAP": "SAD", "SAD": "ANG"})
    split.to_csv(tmp_path / "relabelled.csv", index=False)
    second = train_models(model_corpus, tmp_path / "b", "audio", split=tmp_path / "relabelled.csv")[1]
    assert first == second  # same seeds, same runs: the test labels change nothing
    for name in ("fold0_seed0.pt", "fold1_seed1.pt"):
        a, b = (torch.load(tmp_path / run / "audio" / name, weights_only=True) for run in ("a", "b"))
        assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_fine_tuned_video_with_workers_and_autocast_leaves_out_the_failed_face_and_keeps_the_fallback(
    model_corpus, tmp_path, one_fold_split
):
    split = pd.read_csv(model_corpus["split"])
    # The GPU path on the CPU: image loading in worker processes, mixed precision (bfloat16 here), two epochs.
    _, written, repeats = train_models(
        model_corpus,
        tmp_path,
        "video",
        split=one_fold_split,  # fine-tuning is slow: one repeat
        encoder={"trainable": "all"},
        epochs=2,
        patience=5,
        seeds=[0],
        loader_workers=2,
        amp="always",
    )
    assert (repeats["epochs_run"] == 2).all() and written["repeats"] == 1
    # fold 0 trains on 1001-1004: 24 clips less the failed face (the fallback crop is used)
    assert list(repeats["train_clips"]) == [23] and list(repeats["validation_clips"]) == [6]
    assert "1002_IEO_HAP_XX" in set(
        clips_for(
            modality_table(
                split[(split["fold"] == 0) & (split["part"] == "train")],
                {"video": read_index(model_corpus["folders"]["video"])},
            )[0],
            ("video",),
        )["clip"]
    )
    checkpoint = load_checkpoint(tmp_path / "video" / "fold0_seed0.pt")[1]
    assert (
        checkpoint["config"]["preprocessing"]
        == {"video": FACE_SETTINGS, "frames": {"position": 0.5, "frames_per_clip": 1}}
        and checkpoint["config"]["trainable"] == "all"
    )
    assert any(k.startswith("encoder.stem.") for k in checkpoint["state_dict"])  # a fine-tuned encoder is saved whole


def test_av_keeps_a_clip_with_one_modality_and_rebuilds_from_its_checkpoint(model_corpus, tmp_path):
    _, _, repeats = train_models(model_corpus, tmp_path, "av", seeds=[0], synthetic_sample=True)
    assert list(repeats["train_clips"]) == [24, 24]  # the clip without a face still has its spectrogram
    assert "run_repeats" not in repeats.columns  # repeats.csv (git-tracked) unchanged by the checkpoints' info
    model, checkpoint = load_checkpoint(tmp_path / "av" / "fold0_seed0.pt")
    assert checkpoint["config"]["kind"] == "av" and checkpoint["config"]["fusion"] == "concat"
    # what the clips were and every repeat of the run, so predict and eval_cross can tell an incomplete folder
    assert checkpoint["info"][SYNTHETIC_SAMPLE] is True and checkpoint["info"][RUN_REPEATS] == [[0, 0], [1, 0]]
    with torch.no_grad():
        assert model(audio=torch.randn(2, 3, 32, 32)).shape == (2, 3)


@pytest.mark.parametrize(
    "kind, trainable, sharing",
    [
        ("video", "none", "shared"),
        ("video", 1, "shared"),
        ("video", "all", "shared"),
        ("av", 1, "shared"),
        ("av", 1, "modality_norm"),
    ],
)
def test_three_faces_a_clip_are_one_example_whose_features_are_their_mean(
    model_corpus_frames3, tmp_path, one_fold_split, kind, trainable, sharing
):
    """frame.count 3: the same clips as one frame a clip (one example each, the failed face left out), the
    frames' settings kept in the checkpoint, and the checkpoint on the three faces of each clip (images, read
    as eval_cross and predict read them) scores the validation accuracy it reached in training."""
    _, _, repeats = train_models(
        model_corpus_frames3,
        tmp_path,
        kind,
        split=one_fold_split,
        encoder={"trainable": trainable},
        fusion={"sharing": sharing},
        epochs=2,
        seeds=[0],
    )
    assert list(repeats["train_clips"]) == [24 if kind == "av" else 23] and list(repeats["validation_clips"]) == [6]
    model, checkpoint = load_checkpoint(tmp_path / kind / "fold0_seed0.pt")
    frames = {"position": 0.5, "frames_per_clip": 3, "spread": 0.4}
    assert checkpoint["config"]["preprocessing"]["frames"] == frames
    assert checkpoint["config"]["preprocessing"]["video"]["frames_per_clip"] == 3
    modalities = ("audio", "video") if kind == "av" else ("video",)
    split = read_split(one_fold_split)
    indexes = {m: read_index(model_corpus_frames3["folders"][m]) for m in modalities}
    table, _ = modality_table(split, indexes)
    rows = clips_for(table[table["part"] == "validation"], modalities, "any")
    images = image_dataset(
        rows, modalities, model_corpus_frames3["folders"], CLASSES, image_size=32, top_db=80, frames=3
    )
    assert images[0]["video"].shape == (3, 3, 32, 32)
    labels, predictions, _ = predict(model, loader(images, 4), modalities, "cpu")
    assert (labels == predictions).mean() == pytest.approx(checkpoint["info"]["val_accuracy"], abs=1e-6)


def test_seeded_runs_are_identical(model_corpus, tmp_path):
    first = train_models(model_corpus, tmp_path / "a", "video", epochs=3)
    second = train_models(model_corpus, tmp_path / "b", "video", epochs=3)
    assert first[1] == second[1] and first[2].equals(second[2])
    assert (tmp_path / "a" / "video" / "fold1_seed1.pt").read_bytes() == (
        tmp_path / "b" / "video" / "fold1_seed1.pt"
    ).read_bytes()


def test_feature_batches_are_deterministic_and_never_a_single_clip():
    items = {"label": torch.arange(9), "audio": torch.randn(9, 4)}
    set_seed(0)

    def epochs(n):
        batches = FeatureBatches(items, 4, shuffle=True, seed=1)
        return [[b["label"].tolist() for b in batches] for _ in range(n)]

    first, again = epochs(2), epochs(2)
    assert first == again and first[0] != first[1]  # a new order every epoch, the same orders every run
    assert all(len(batch) == 4 for batch in first[0])  # 9 = 4 + 4 + 1: the single last clip is dropped
    assert [b["label"].tolist() for b in FeatureBatches(items, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


@pytest.mark.parametrize("stage", ["train_audio", "train_video", "train_av"])
def test_training_stage_help_names_its_params(stage):
    done = run_stage(stage, "--help", cwd=REPO_ROOT)
    assert done.returncode == 0 and "`lr`" in done.stdout and "--models" in done.stdout and "train.seeds" in done.stdout
    assert ("fusion" in done.stdout) == (stage == "train_av")


def test_augmented_batches_do_not_depend_on_the_number_of_loader_workers(model_corpus):
    split = read_split(model_corpus["split"])
    table, _ = modality_table(
        split[(split["fold"] == 0) & (split["part"] == "train")],
        {"video": read_index(model_corpus["folders"]["video"])},
    )
    rows = clips_for(table, ("video",))

    def epochs(workers):
        images = image_dataset(rows, ("video",), model_corpus["folders"], CLASSES, image_size=32, augment=True, seed=3)
        data = loader(images, 8, shuffle=True, seed=3, num_workers=workers)
        out = []
        for epoch in (1, 2):
            images.set_epoch(epoch)
            out.append(torch.cat([batch["video"] for batch in data]))
        return out

    alone, with_workers = epochs(0), epochs(2)
    assert all(torch.equal(a, b) for a, b in zip(alone, with_workers))
    assert not torch.equal(alone[0], alone[1])  # each epoch augments anew


def test_autocast_is_float16_on_a_gpu_and_bfloat16_on_the_cpu_only_when_asked():
    assert (
        autocast_dtype("cuda", torch.device("cuda")) == torch.float16
        and autocast_dtype("cuda", torch.device("cpu")) is None
    )
    assert (
        autocast_dtype("always", torch.device("cpu")) == torch.bfloat16
        and autocast_dtype("off", torch.device("cuda")) is None
    )


def test_a_fine_tuned_encoder_learns_at_its_own_rate_and_keeps_its_imagenet_statistics(
    model_corpus, tmp_path, one_fold_split
):
    train_models(
        model_corpus,
        tmp_path,
        "audio",
        split=one_fold_split,
        encoder={"trainable": "all"},
        epochs=1,
        seeds=[0],
        encoder_lr_scale=1e-9,
    )  # the encoder all but still, the head at lr
    trained, checkpoint = load_checkpoint(tmp_path / "audio" / "fold0_seed0.pt")
    set_seed(0)  # the same initial model as training built
    initial = build_model({k: v for k, v in checkpoint["config"].items() if k not in ("fold", "seed")}, pretrained=True)
    before, after = initial.state_dict(), trained.state_dict()
    encoder = [k for k in after if k.startswith("encoder.") and "feature_" not in k and after[k].is_floating_point()]
    assert max(float((after[k] - before[k]).abs().max()) for k in encoder) < 1e-6
    assert all(torch.equal(after[k], before[k]) for k in encoder if "running_" in k)  # statistics frozen
    assert not torch.equal(after["head.1.weight"], before["head.1.weight"])  # the head learnt


# Block 15 and the head convolution of efficientnet_lite0 hold 1,017,600 weights; separate encoders twice
# that, a norm per modality adds the faces' own scale and shift of every batch norm there (7,808).
@pytest.mark.parametrize(
    "sharing, copies, weights", [("shared", 1, 1_017_600), ("separate", 2, 2_035_200), ("modality_norm", 1, 1_025_408)]
)
def test_the_av_model_trains_its_top_with_the_frozen_layers_unchanged(
    model_corpus, tmp_path, one_fold_split, sharing, copies, weights
):
    _, written, _ = train_models(
        model_corpus, tmp_path, "av", split=one_fold_split, seeds=[0], fusion={"sharing": sharing}
    )
    trained, checkpoint = load_checkpoint(tmp_path / "av" / "fold0_seed0.pt")
    assert len(trained.encoders()) == copies
    assert written["trainable_encoder_parameters"] == weights
    installed = build_encoder("efficientnet_lite0", True, trainable=1).state_dict()
    for encoder in trained.encoders():
        state = encoder.state_dict()
        frozen = [k for k in state if k.startswith(("stem.", "blocks.")) and not k.startswith("blocks.15.")]
        assert frozen and all(torch.equal(state[k], installed[k]) for k in frozen)  # the frozen layers never learn
        learnt = [k for k in state if k.startswith("blocks.15.") and k.endswith("weight") and k in installed]
        assert any(not torch.equal(state[k], installed[k]) for k in learnt)  # the top did
    if sharing == "modality_norm":  # each modality's statistics, estimated on its own training inputs
        norm = trained.encoder.modality_norms()[0].norms
        assert not torch.allclose(norm["audio"].running_mean, norm["video"].running_mean)


def test_a_diverging_training_stops_in_one_line_naming_what_to_change(model_corpus, tmp_path):
    from avemo.modeling.training import TrainingDiverged

    # a weight decay the schema refuses (it allows at most 1), given to the library directly: the weights blow up
    with pytest.raises(
        TrainingDiverged, match=r"^training diverged: the training loss is (nan|inf) at epoch \d+; lower lr"
    ):
        train_models(model_corpus, tmp_path, "audio", weight_decay=1e6)
    assert not (tmp_path / "train_audio.json").exists()  # no chance-level metrics written as if they were results
