"""Machine settings come from the environment (or a flag), are checked, and are not params."""

import pytest
import yaml

from avemo import machine
from avemo.errors import UserError
from helpers import REPO_ROOT


def test_jobs_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AVEMO_JOBS", "3")
    assert machine.default_jobs() == 3
    monkeypatch.setenv("AVEMO_JOBS", "0")  # 0 (or unset): every core
    assert machine.default_jobs() >= 1


def test_loader_workers_amp_and_batch_size_read_the_environment_and_a_flag_wins(monkeypatch):
    monkeypatch.setenv("AVEMO_LOADER_WORKERS", "2")
    monkeypatch.setenv("AVEMO_AMP", "off")
    monkeypatch.setenv("AVEMO_BATCH_SIZE", "7")
    assert (machine.loader_workers(), machine.amp_mode(), machine.inference_batch_size()) == (2, "off", 7)
    assert (machine.loader_workers("0"), machine.amp_mode("always")) == (0, "always")
    monkeypatch.delenv("AVEMO_LOADER_WORKERS")
    monkeypatch.delenv("AVEMO_AMP")
    monkeypatch.delenv("AVEMO_BATCH_SIZE")
    assert machine.amp_mode() == "cuda" and machine.inference_batch_size() == 8 and 0 <= machine.loader_workers() <= 8
    assert machine.inference_batch_size("cuda") == 64


@pytest.mark.parametrize(
    "variable, value, call",
    [
        ("AVEMO_JOBS", "many", machine.default_jobs),
        ("AVEMO_LOADER_WORKERS", "-1", machine.loader_workers),
        ("AVEMO_AMP", "fp8", machine.amp_mode),
        ("AVEMO_BATCH_SIZE", "0", machine.inference_batch_size),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, variable, value, call):
    monkeypatch.setenv(variable, value)
    with pytest.raises(UserError, match=variable) as err:
        call()
    assert repr(value) in str(err.value) and "\n" not in str(err.value)


def test_no_machine_setting_is_a_param():
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    assert not {"num_workers", "amp"} & set(params["train"]) and "batch_size" not in params["eval"]
