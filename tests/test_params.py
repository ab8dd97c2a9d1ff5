"""params.yaml against its schema: every bad value stops the stage that reads it at once, in one line."""

import pytest
import yaml

from avemo.params import SCHEMA, ParamsError, main, read_params, violations
from helpers import REPO_ROOT, merged_params, run_stage, write_params

# (stage, key, bad value, words the one line must hold): the list, then what the schema adds.
BAD_VALUES = [
    ("melspec", "melspec.n_mels", 0, "an integer >= 1"),
    ("face_crop", "face.image_size", 0, "an integer >= 8"),
    ("train_audio", "lr", -1, "a number > 0"),
    ("train_video", "lr", "abc", "a number > 0"),
    ("train_av", "train.batch_size", 0, "an integer >= 2"),
    ("embed", "encoder.arch", "nonexistent", "one of efficientnet_lite0, mobilenet_v3_small, resnet18, vgg16"),
    ("split", "split.fractions", {"train": 0.8, "validation": 0.2, "test": 0.2}, "sum to 1"),
    ("list_clips", "data.classes", ["XYZ"], "codes from ANG, DIS, FEA, HAP, NEU, SAD"),
    ("list_clips", "data.classes", [], "at least 2 codes"),
    ("extract_audio", "audio.sample_rate", "16k", "an integer"),
    ("extract_audio", "strict", "yes", "true or false"),
    ("extract_middle_frame", "frame.position", 1.5, "a number >= 0 and <= 1"),
    ("face_crop", "face.fallback", "blur", "one of centre, drop"),
    ("face_crop", "face.detect_scale", 0, "a number > 0 and <= 1"),
    ("split", "split.scheme", "random", "one of actors, clips, published"),
    ("split", "split.folds", 2, "1 (one split by fractions) or an integer >= 3"),
    ("train_av", "fusion.method", "sum", "one of concat, mean"),
    ("train_audio", "train.seeds", [], "at least 1 integers"),
    ("train_video", "train.dropout", 1.0, "a number >= 0 and < 1"),
    ("eval_cross", "eval.bootstrap", 10, "an integer >= 100"),
    ("eval_cross", "eval.bootstrap", 10**9, "an integer >= 100 and <= 100000"),
    ("split", "split.candidates", 10**9, "an integer >= 1 and <= 100000"),
    ("train_audio", "train.weight_decay", 1e6, "a number >= 0 and <= 1"),
    ("extract_audio", "audio.max_duration", 0, "a number > 0"),
    ("split", "split.validation_share", 1, "a number > 0 and < 1"),
    ("list_clips", "data.exclude", {"1064_TIE_SAD": "short"}, "a mapping of clip names"),
    ("embed", "encoder.trainable", 0, "none, all, or an integer >= 1"),
    ("train_audio", "encoder.trainable", "top", "none, all, or an integer >= 1"),
    ("embed", "encoder.trainable", 17, "more blocks than encoder.arch has (efficientnet_lite0 16"),
    ("train_video", "encoder.pretrained", False, "needs encoder.trainable: all (frozen random layers learn nothing)"),
    ("train_av", "fusion.sharing", "both", "one of shared, separate, modality_norm"),
]


@pytest.fixture(scope="module")
def fake_torch(tmp_path_factory):
    """A folder whose `torch` cannot be imported: put first on PYTHONPATH, it proves a stage checked its
    params before the slow imports."""
    folder = tmp_path_factory.mktemp("fake_torch")
    (folder / "torch").mkdir()
    (folder / "torch" / "__init__.py").write_text(
        'raise ImportError("torch was imported before the params were checked")\n'
    )
    return folder


def with_value(params: dict, key: str, value) -> dict:
    section, _, field = key.partition(".")
    if field:
        params[section] = {**params[section], field: value}
    else:
        params[section] = value
    return params


@pytest.mark.parametrize("stage, key, value, allowed", BAD_VALUES, ids=[f"{s}:{k}={v!r}" for s, k, v, _ in BAD_VALUES])
def test_a_bad_value_stops_its_stage_in_one_line_before_any_work(tmp_path, fake_torch, stage, key, value, allowed):
    params = write_params(tmp_path / "params.yaml", with_value(merged_params({}), key, value))
    done = run_stage(stage, "--params", str(params), cwd=tmp_path, env={"PYTHONPATH": str(fake_torch)})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"{stage}: {params}: {key}") and allowed in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # no output written


def test_check_refuses_mel_bands_without_an_fft_bin(tmp_path, capsys):
    params = merged_params({"melspec": {"fmin": 7990, "fmax": 8000}})
    assert violations(params, ["melspec", "audio"], "p.yaml") == [
        "p.yaml: some mel bands hold no FFT bin at audio.sample_rate (they would be zero in every spectrogram): "
        "widen melspec.fmin..fmax, or use fewer melspec.n_mels or a larger melspec.n_fft"
    ]
    params = merged_params({"melspec": {"fmin": 0, "n_fft": 256, "n_mels": 128}})  # the lowest bands too narrow
    assert len(violations(params, ["melspec", "audio"], "p.yaml")) == 1
    params = merged_params({"melspec": {"fmin": 0, "n_fft": 512, "n_mels": 64}})
    assert violations(params, ["melspec", "audio"], "p.yaml") == []


@pytest.mark.parametrize("written, value", [("1e-3", 0.001), ("3E-4", 0.0003), ("2e+0", 2.0), ("0.5e0", 0.5)])
def test_a_number_written_with_an_exponent_is_a_number_as_dvc_reads_it(tmp_path, written, value):
    from dvc.utils.serialize import parse_yaml  # DVC's own reader of params.yaml (YAML 1.2)

    text = (REPO_ROOT / "params.yaml").read_text()
    assert "\nlr: 0.001\n" in text
    (tmp_path / "params.yaml").write_text(text.replace("\nlr: 0.001\n", f"\nlr: {written}  # by hand\n"))
    assert read_params(tmp_path / "params.yaml", "lr")["lr"] == value == parse_yaml(f"lr: {written}", "-")["lr"]
    assert main(["--check", "--params", str(tmp_path / "params.yaml")]) == 0
    assert yaml.safe_load(f"lr: {written}")["lr"] == written  # what PyYAML's YAML 1.1 made of it: a string


def test_the_repositorys_params_are_allowed():
    assert main(["--check", "--params", str(REPO_ROOT / "params.yaml")]) == 0


def test_check_lists_every_violation_and_cross_field_rules(tmp_path, capsys):
    params = merged_params({})
    params["melspec"] = {**params["melspec"], "fmax": 20000}  # above Nyquist of 16 kHz audio
    params["encoder"] = {**params["encoder"], "pretrained": False, "trainable": "none"}
    params["face"] = {**params["face"], "colour": "red"}
    params["extra"] = 1
    write_params(tmp_path / "params.yaml", params)
    assert main(["--check", "--params", str(tmp_path / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'params.yaml'}: unknown key face.colour; expected some of min_face_size" in err
    assert "unknown section `extra`" in err
    params["face"].pop("colour")
    write_params(tmp_path / "params.yaml", {k: v for k, v in params.items() if k != "extra"})
    assert main(["--check", "--params", str(tmp_path / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert (
        "melspec.fmax must be at most half of audio.sample_rate" in err
        and "encoder.pretrained: false needs encoder.trainable: all" in err
    )


def test_read_params_returns_the_sections_and_refuses_the_first_violation(tmp_path):
    write_params(tmp_path / "p.yaml", merged_params({}))
    assert set(read_params(tmp_path / "p.yaml", "lr", "melspec")) == {"lr", "melspec"}
    write_params(tmp_path / "p.yaml", with_value(merged_params({}), "melspec.n_mels", 0.5))
    with pytest.raises(ParamsError, match=r"melspec.n_mels is 0.5; expected an integer >= 1"):
        read_params(tmp_path / "p.yaml", "melspec")
    (tmp_path / "broken.yaml").write_text("melspec: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        read_params(tmp_path / "broken.yaml", "melspec")


def test_every_section_of_params_yaml_has_a_schema_and_every_schema_a_section():
    assert set(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())) == set(SCHEMA)
    assert violations(merged_params({}), list(SCHEMA)) == []


@pytest.mark.parametrize("stage, key, value, allowed", BAD_VALUES, ids=[f"{k}={v!r}" for _, k, v, _ in BAD_VALUES])
def test_check_params_stops_every_bad_value_in_one_line_and_writes_nothing(tmp_path, stage, key, value, allowed):
    """The stage DVC runs before any other: each value that would stop its own stage stops this one."""
    params = write_params(tmp_path / "params.yaml", with_value(merged_params({}), key, value))
    done = run_stage("check_params", "--params", str(params), "--out", str(tmp_path / "checked.txt"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"check_params: {params}: ") and allowed in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_check_params_names_the_first_problem_and_counts_the_rest_in_one_line(tmp_path):
    params = merged_params({})
    params["lr"], params["extra"] = "abc", 1
    write_params(tmp_path / "params.yaml", with_value(params, "melspec.n_mels", 0))
    done = run_stage("check_params", "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "out.txt"))
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        f"check_params: {tmp_path / 'params.yaml'}: lr is 'abc'; expected a number > 0 and <= 10 "
        "(and 2 more: python -m avemo.params --check lists them)"
    ]


def test_check_params_writes_the_same_bytes_for_any_valid_params(tmp_path):
    """Its output is a dependency of the first stages: a valid change of any value must not change it."""
    written = []
    for lr, n_mels in ((0.001, 64), (0.01, 32)):
        params = write_params(
            tmp_path / "params.yaml", with_value(with_value(merged_params({}), "lr", lr), "melspec.n_mels", n_mels)
        )
        out = tmp_path / f"checked_{lr}.txt"
        done = run_stage("check_params", "--params", str(params), "--out", str(out))
        assert done.returncode == 0, done.stderr
        written.append(out.read_bytes())
    assert written[0] == written[1] and written[0].startswith(b"every value of the params file is allowed")


def set_as_dvc_does(path, *overrides: str) -> list[str]:
    """`dvc exp run -S` on a params file: DVC's own code for it (the repository does not enable Hydra, so
    DVC applies each override with dvc.utils.hydra.apply_overrides and rewrites the file with ruamel.yaml);
    returns the file's lines afterwards."""
    from dvc.utils.hydra import apply_overrides

    apply_overrides(path, list(overrides))
    return path.read_text().splitlines()


def test_params_yaml_is_in_the_form_dvc_writes(tmp_path):
    """What -S rewrites beside the value it sets (flow-style lists as block lists, long strings folded) is
    already so. After a hand edit, DVC's own code puts the file back in that form: python -c "from
    dvc.utils.hydra import apply_overrides; apply_overrides('params.yaml', [])"."""
    assert "hydra" not in (REPO_ROOT / ".dvc" / "config").read_text()  # so -S takes the path tested here
    copy = tmp_path / "params.yaml"
    copy.write_text((REPO_ROOT / "params.yaml").read_text())
    set_as_dvc_does(copy)
    assert copy.read_text() == (REPO_ROOT / "params.yaml").read_text()


@pytest.mark.parametrize(
    "override, old, new",
    [
        ("lr=0.0003", "lr: 0.001", "lr: 0.0003"),
        ("melspec.n_mels=40", "  n_mels: 64", "  n_mels: 40"),
        ("sample.sentences=2", "  sentences: 3      #", "  sentences: 2      #"),  # just above a list
        ("train.patience=6", "  patience: 4 ", "  patience: 6 "),  # just below a list
        ("split.seed=3", "  seed: 0", "  seed: 3"),  # below a flow-style mapping
        ("train.seeds=[0,2]", "  - 1", "  - 2"),  # an item of a list
    ],
)
def test_dvc_exp_run_set_param_changes_exactly_that_line(tmp_path, override, old, new):
    before = (REPO_ROOT / "params.yaml").read_text().splitlines()
    copy = tmp_path / "params.yaml"
    copy.write_text("\n".join(before) + "\n")
    after = set_as_dvc_does(copy, override)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(after) == len(before) and len(changed) == 1, changed
    assert changed[0][0].startswith(old) and changed[0][1] == changed[0][0].replace(old, new, 1), changed
