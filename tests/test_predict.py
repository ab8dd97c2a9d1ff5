"""`avemo predict`: any clip FFmpeg reads, through the pipeline's own preprocessing with the settings
stored in the model, predicted by one checkpoint or the mean of a folder of them."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from avemo.__main__ import main
from avemo.modeling.checkpoints import SYNTHETIC_SAMPLE, load_checkpoint, save_checkpoint
from avemo.modeling.inputs import face_input, spectrogram_input
from avemo.predict import SYNTHETIC_NOTE, ClipReader, class_probabilities, load_models
from avemo.preprocess.clipindex import clip_files, read_index, read_settings
from helpers import SRC, TINY_PARAMS, assert_predict_gives_eval_cross_probabilities, dvc, make_repo_copy, run_ffmpeg

CLASSES = ["ANG", "HAP", "SAD"]  # the order training gives (sorted)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def predict(capsys, *args) -> tuple[int, str, str]:
    """`avemo predict ARGS` in this process: (exit status, stdout, stderr)."""
    status = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def predict_json(capsys, *args) -> tuple[int, list[dict]]:
    status, out, _ = predict(capsys, "--json", *args)
    return status, json.loads(out)


def assert_predicted(entry: dict, missing=()) -> None:
    assert "error" not in entry, entry
    probabilities = entry["probabilities"]
    assert list(probabilities) == CLASSES and all(0 <= p <= 1 for p in probabilities.values()), entry
    assert abs(sum(probabilities.values()) - 1) < 1e-6, entry
    assert entry["emotion"] == max(probabilities, key=probabilities.get)
    assert entry["missing"] == list(missing), entry


@pytest.fixture(scope="module")
def odd_clips(tmp_path_factory, real_clips_dir):
    """Real-clip derivatives: another container and name, no audio track, no video track, a face-less
    (grey) picture with the real voice, and two damaged files."""
    folder = tmp_path_factory.mktemp("odd clips")
    happy = str(real_clips_dir / "1001_DFA_HAP_XX.flv")
    clips = {
        name: folder / name
        for name in ("my clip.mp4", "no audio.flv", "no video.flv", "grey.mp4", "empty.flv", "notes.flv")
    }
    run_ffmpeg("-i", happy, "-c:v", "mpeg4", "-c:a", "aac", str(clips["my clip.mp4"]))
    run_ffmpeg("-i", happy, "-c", "copy", "-an", str(clips["no audio.flv"]))
    run_ffmpeg("-i", happy, "-c", "copy", "-vn", "-f", "flv", str(clips["no video.flv"]))
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=480x360:r=30:d=2.5",
        "-i",
        happy,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
        "-shortest",
        str(clips["grey.mp4"]),
    )
    clips["empty.flv"].write_bytes(b"")
    clips["notes.flv"].write_text("not a video, whatever its name\n")
    return clips


def test_text_output_one_line_per_real_clip_with_every_probability(capsys, predict_models, real_clips_dir):
    clips = sorted(real_clips_dir.glob("*.flv"))
    status, out, err = predict(capsys, *clips, "--model", predict_models["av"])
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 6
    for clip, line in zip(clips, lines):
        name, rest = line.split(": ", 1)
        emotion, *pairs = rest.split()
        probabilities = dict(zip(pairs[::2], map(float, pairs[1::2])))
        assert (
            name == str(clip)
            and list(probabilities) == CLASSES
            and emotion == max(probabilities, key=probabilities.get)
        )
        assert abs(sum(probabilities.values()) - 1) <= 0.002  # three rounded decimals
    assert "AV model, 2 checkpoints" in err and "s a clip" in err


def test_json_damaged_files_get_their_reason_and_a_non_zero_exit_the_others_are_predicted(
    capsys, predict_models, real_clips_dir, odd_clips
):
    clips = [
        *sorted(real_clips_dir.glob("*.flv")),
        odd_clips["empty.flv"],
        odd_clips["notes.flv"],
        odd_clips["my clip.mp4"],
    ]
    status, entries = predict_json(capsys, *clips, "--model", predict_models["av"])
    assert status == 1
    assert [e["clip"] for e in entries] == [str(c) for c in clips]
    for entry in entries[:6] + entries[8:]:
        assert_predicted(entry)
    assert entries[6] == {"clip": str(odd_clips["empty.flv"]), "error": "empty file (0 bytes)"}
    assert set(entries[7]) == {"clip", "error"} and entries[7]["error"].startswith("not a readable media file")


def test_inputs_are_the_pipeline_stages_outputs_for_the_same_settings(real_run):
    """The spectrogram equals the melspec stage's array and the face the face_crop stage's PNG, both bit
    for bit, and so do the encoder inputs made of them."""
    out, clips = real_run
    spectrograms, faces = read_settings(out / "melspec"), read_settings(out / "faces")
    frames = {**read_settings(out / "frames"), "frames_per_clip": 1}  # as training stores them
    reader = ClipReader(
        {"kind": "av", "image_size": 32, "preprocessing": {"audio": spectrograms, "video": faces, "frames": frames}}
    )
    face_index = read_index(out / "faces").set_index("clip")
    for clip, path in zip(clips["clip"], clips["path"]):
        assert np.array_equal(reader.spectrogram(path), np.load(out / "melspec" / f"{clip}.npy"))
        face = reader.faces(path)
        with Image.open(out / "faces" / f"{clip}.png") as stage_face:
            assert len(face.images) == 1 and np.array_equal(np.asarray(face.images[0]), np.asarray(stage_face))
        assert face.status == face_index.at[clip, "status"]
        inputs = reader.inputs(path)
        assert torch.equal(
            inputs.images["audio"][0], spectrogram_input(out / "melspec" / f"{clip}.npy", 32, spectrograms["top_db"])
        )
        assert torch.equal(inputs.images["video"][0], face_input(out / "faces" / f"{clip}.png", 32))


def test_three_frames_a_clip_are_the_stages_three_faces(real_run_frames3):
    """With a checkpoint of three frames a clip, the faces are face_crop's three PNGs of extract_middle_frame's
    three frames, bit for bit, and the video input stacks them in time order."""
    out, clips = real_run_frames3
    frames = {**read_settings(out / "frames"), "frames_per_clip": 3}
    reader = ClipReader(
        {"kind": "video", "image_size": 32, "preprocessing": {"video": read_settings(out / "faces"), "frames": frames}}
    )
    assert reader.positions == [0.3, 0.5, 0.7]
    face_index = read_index(out / "faces").set_index("clip")
    for clip, path in zip(clips["clip"], clips["path"]):
        face = reader.faces(path)
        assert face.status == face_index.at[clip, "status"] and len(face.images) == 3
        for k, image in enumerate(face.images):
            with Image.open(out / "faces" / f"{clip}_{k}.png") as stage_face:
                assert np.array_equal(np.asarray(image), np.asarray(stage_face)), (clip, k)
        video = reader.inputs(path).images["video"]
        stacked = torch.stack([face_input(out / "faces" / f"{clip}_{k}.png", 32) for k in range(3)])
        assert video.shape == (1, 3, 3, 32, 32) and torch.equal(video[0], stacked)


def test_a_model_of_three_frames_reads_the_frames_its_checkpoint_names(capsys, predict_models_frames3, real_clip):
    for kind in ("video", "av"):
        models = load_models(predict_models_frames3[kind])
        assert models.config["preprocessing"]["frames"] == {"position": 0.5, "frames_per_clip": 3, "spread": 0.4}
        assert ClipReader(models.config).positions == [0.3, 0.5, 0.7]
        status, (entry,) = predict_json(capsys, real_clip, "--model", predict_models_frames3[kind])
        assert status == 0
        assert_predicted(entry)
    # the frozen layers' output once per frame, each checkpoint's top on it: the model's own forward pass
    models = load_models(predict_models_frames3["av"] / "fold0_seed0.pt")
    images = ClipReader(models.config).inputs(real_clip).images
    with torch.no_grad():
        forward = torch.softmax(models.models[0](audio=images["audio"], video=images["video"]).double(), dim=1)
    assert np.allclose(class_probabilities(models, images), forward[0].numpy(), atol=1e-6)


def test_settings_come_from_the_checkpoint_not_params_yaml(predict_models, real_clip):
    models = load_models(predict_models["av"])
    reader = ClipReader(models.config)
    assert reader.spectrogram(real_clip).shape == (16, 101)  # the tiny 1 s, 16 mels; params.yaml has 2.5 s, 64 mels
    assert reader.faces(real_clip).images[0].size == (32, 32)  # params.yaml: 128


def test_unimodal_models_need_only_their_own_track(capsys, predict_models, odd_clips):
    clips = [odd_clips["no audio.flv"], odd_clips["no video.flv"]]
    status, (no_audio, no_video) = predict_json(capsys, *clips, "--model", predict_models["audio"])
    assert status == 1 and no_audio == {"clip": str(clips[0]), "error": "no audio track"}
    assert_predicted(no_video)
    status, (no_audio, no_video) = predict_json(capsys, *clips, "--model", predict_models["video"])
    assert status == 1 and no_video == {"clip": str(clips[1]), "error": "no video track"}
    assert_predicted(no_audio)


def test_the_av_model_predicts_from_one_modality_and_says_which_is_missing(capsys, predict_models, odd_clips):
    clips = [odd_clips["no audio.flv"], odd_clips["no video.flv"]]
    status, (no_audio, no_video) = predict_json(capsys, *clips, "--model", predict_models["av"])
    assert status == 0
    assert_predicted(no_audio, missing=["audio"])
    assert_predicted(no_video, missing=["video"])
    assert no_audio["notes"] == ["audio missing: no audio track"] and no_video["notes"] == [
        "video missing: no video track"
    ]
    status, out, _ = predict(capsys, *clips, "--model", predict_models["av"])
    assert status == 0 and out.splitlines()[0].endswith("[audio missing: no audio track]")
    assert out.splitlines()[1].endswith("[video missing: no video track]")


def test_no_face_follows_the_checkpoints_fallback(capsys, predict_models, odd_clips, tmp_path):
    status, (centre,) = predict_json(capsys, odd_clips["grey.mp4"], "--model", predict_models["av"])
    assert status == 0 and centre["notes"] == ["no face found; centre crop"]
    assert_predicted(centre)

    # The same model as if trained on faces made with face.fallback: drop.
    model, checkpoint = load_checkpoint(predict_models["av"] / "fold0_seed0.pt")
    config = checkpoint["config"]
    config["preprocessing"]["video"]["fallback"] = "drop"
    save_checkpoint(tmp_path / "drop.pt", model, config)
    status, (dropped,) = predict_json(capsys, odd_clips["grey.mp4"], "--model", tmp_path / "drop.pt")
    assert status == 0 and dropped["notes"] == ["video missing: no face found"]
    assert_predicted(dropped, missing=["video"])


def test_a_folder_predicts_the_mean_of_its_checkpoints(capsys, predict_models, real_clip):
    folder = predict_models["av"]
    _, (mean,) = predict_json(capsys, real_clip, "--model", folder)
    each = [
        predict_json(capsys, real_clip, "--model", path)[1][0]["probabilities"] for path in sorted(folder.glob("*.pt"))
    ]
    assert len(each) == 2
    assert np.allclose(
        list(mean["probabilities"].values()), np.mean([list(p.values()) for p in each], axis=0), atol=1e-12
    )


def test_the_shared_frozen_backbone_gives_the_models_own_forward_pass(predict_models, real_clip):
    models = load_models(predict_models["av"] / "fold0_seed0.pt")
    assert models.frozen
    images = ClipReader(models.config).inputs(real_clip).images
    with torch.no_grad():
        forward = torch.softmax(models.models[0](audio=images["audio"], video=images["video"]).double(), dim=1)[
            0
        ].numpy()
    assert np.allclose(class_probabilities(models, images), forward, atol=1e-6)


def test_help_explains_the_arguments_and_the_output(capsys):
    with pytest.raises(SystemExit) as done:
        main(["predict", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in (
        "CLIP",
        "--model",
        "mean over all its checkpoints, every fold and seed",
        "--json",
        '"missing"',
        "softmax",
        "centre crop",
        "Exit status",
    ):
        assert expected in text, expected


def test_a_model_that_cannot_be_loaded_is_one_line(capsys, tmp_path, predict_models, real_clip):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.pt").write_text("not a checkpoint\n")
    (tmp_path / "mixed").mkdir()
    for kind in ("audio", "av"):
        shutil.copyfile(predict_models[kind] / "fold0_seed0.pt", tmp_path / "mixed" / f"{kind}.pt")
    model, checkpoint = load_checkpoint(predict_models["video"] / "fold0_seed0.pt")
    del checkpoint["config"]["preprocessing"]["frames"]  # a checkpoint of before frame.count
    save_checkpoint(tmp_path / "no_frames.pt", model, checkpoint["config"])
    for model, expected in (
        (tmp_path / "nothing", "no such checkpoint file or folder"),
        (tmp_path / "empty", "no checkpoint (*.pt)"),
        (tmp_path / "notes.pt", "cannot load it as an avemo checkpoint"),
        (tmp_path / "mixed", "av.pt: its kind, preprocessing"),
        (tmp_path / "no_frames.pt", "does not hold which frames of a clip its faces were of"),
    ):
        status, out, err = predict(capsys, real_clip, "--model", model)
        assert status == 1 and out == "" and len(err.splitlines()) == 1 and expected in err, err


@pytest.mark.slow
@pytest.mark.parametrize("frames", [1, 3], ids=["one_frame", "three_frames"])
def test_predict_with_the_models_of_a_tiny_dvc_run(tmp_path, real_clips_dir, frames):
    """The models `dvc repro` trains (3 folds, one seed), on one frame a clip or three (frame.count): predict
    gives eval_cross's probabilities; the AV models' settings are those of the run's melspec, face_crop and
    extract_middle_frame, and its faces those of the run."""
    params = {
        **TINY_PARAMS,
        "sample": {**TINY_PARAMS["sample"], "actors": 5},
        "train": {**TINY_PARAMS["train"], "seeds": [0]},
        "frame": {**TINY_PARAMS["frame"], "count": frames},
    }
    repo = make_repo_copy(tmp_path / "repo", params)
    dvc(repo, "repro")
    assert_predict_gives_eval_cross_probabilities(repo)  # every kind, the default trained top block
    clips = sorted(real_clips_dir.glob("*.flv"))
    (tmp_path / "broken.flv").write_bytes(clips[0].read_bytes()[:2000])  # its header only
    done = subprocess.run(
        [sys.executable, "-m", "avemo", "predict", "--json", *map(str, clips), str(tmp_path / "broken.flv")],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=repo,
    )  # --model: models/av
    assert done.returncode == 1, done.stderr
    entries = json.loads(done.stdout)
    assert "3 checkpoints in models/av" in done.stderr
    for entry in entries[:6]:
        assert_predicted(entry)
    assert set(entries[6]) == {"clip", "error"}

    models = load_models(repo / "models" / "av")
    assert models.config["preprocessing"] == {
        "audio": read_settings(repo / "data" / "melspec"),
        "video": read_settings(repo / "data" / "faces"),
        "frames": {**read_settings(repo / "data" / "frames"), "frames_per_clip": frames},
    }
    reader = ClipReader(models.config)
    sample = read_index(repo / "data" / "faces")["clip"].iloc[0]
    source = repo / "data" / "sample" / "VideoFlash" / f"{sample}.flv"
    assert np.array_equal(reader.spectrogram(source), np.load(repo / "data" / "melspec" / f"{sample}.npy"))
    found = reader.faces(source).images
    assert len(found) == frames
    for image, name in zip(found, clip_files(sample, ".png", frames)):
        with Image.open(repo / "data" / "faces" / name) as stage_face:
            assert np.array_equal(np.asarray(image), np.asarray(stage_face)), name
    if frames > 1:  # each stage holds the K frames: files, cached features, the report's protocol line
        assert len(list((repo / "data" / "frames").glob(f"{sample}_*.png"))) == frames
        assert read_settings(repo / "data" / "embeddings" / "video")["shape"][0] == frames
        assert f"the faces of {frames} frames a clip" in (repo / "reports" / "results.md").read_text()


def test_every_prediction_of_a_model_trained_on_the_synthetic_sample_says_so(
    capsys, predict_models, tmp_path, real_clip
):
    model, checkpoint = load_checkpoint(predict_models["av"] / "fold0_seed0.pt")
    assert checkpoint["info"][SYNTHETIC_SAMPLE] is False  # predict_models: not the sample
    save_checkpoint(tmp_path / "sample.pt", model, checkpoint["config"], {**checkpoint["info"], SYNTHETIC_SAMPLE: True})
    clips = [real_clip, real_clip]
    status, out, _ = predict(capsys, *clips, "--model", tmp_path / "sample.pt")
    assert status == 0 and [line.endswith(f"  [{SYNTHETIC_NOTE}]") for line in out.splitlines()] == [True, True]
    status, entries = predict_json(capsys, *clips, "--model", tmp_path / "sample.pt")
    assert status == 0 and [e["notes"] for e in entries] == [[SYNTHETIC_NOTE]] * 2
    status, entries = predict_json(capsys, *clips, "--model", predict_models["av"])
    assert status == 0 and [e["notes"] for e in entries] == [[]] * 2


def test_a_folder_a_killed_training_run_left_incomplete_is_named_in_one_line(
    capsys, predict_models, tmp_path, real_clip
):
    folder = shutil.copytree(predict_models["video"], tmp_path / "video")
    (folder / "fold1_seed0.pt").unlink()  # 2 folds x 1 seed: the run stopped after its first model
    status, out, err = predict(capsys, real_clip, "--model", folder)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        f"avemo predict: warning: {folder}: incomplete: 1 of the 2 checkpoints of its training run (2 fold(s) x 1 "
        "seed(s)), missing fold1_seed0.pt (the run stopped early?); rerun its training stage (`dvc repro`)"
    ]
    assert status == 0 and len(out.splitlines()) == 1  # still predicted, with what there is
    _, _, err = predict(capsys, real_clip, "--model", predict_models["video"])
    assert "warning" not in err


def test_a_crafted_checkpoint_is_refused_in_one_line(capsys, predict_models, tmp_path, real_clip):
    checkpoint = torch.load(predict_models["audio"] / "fold0_seed0.pt", weights_only=True)
    checkpoint["config"]["image_size"] = 100_000  # would resize every spectrogram to 100000 x 100000
    torch.save(checkpoint, tmp_path / "crafted.pt")
    status, out, err = predict(capsys, real_clip, "--model", tmp_path / "crafted.pt")
    assert status == 1 and out == ""
    assert err == (
        f"avemo predict: {tmp_path / 'crafted.pt'}: refused before building its model: config image_size is 100000; "
        "expected an integer >= 32 and <= 1024 (encoder.image_size)\n"
    )
