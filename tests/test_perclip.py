import pytest

from avemo import perclip
from avemo.perclip import ClipFailure, ClipResult


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.txt"

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        perclip.atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []
    perclip.atomic_write(target, lambda tmp: tmp.write_text("whole"))
    assert target.read_text() == "whole" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def _square(state, clip, value):
    if value < 0:
        raise ClipFailure(f"negative value {value}")
    if value == 13:
        raise RuntimeError("unlucky")
    return ClipResult(clip, "ok", extra={"square": value * value, "state": state})


def _state():
    return "ready"


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_per_clip_keeps_order_and_turns_errors_into_failed_rows(jobs):
    tasks = [("a", 2), ("b", -1), ("c", 13), ("d", 3)]
    results = perclip.run_per_clip(_square, tasks, jobs=jobs, initializer=_state)
    assert [r.clip for r in results] == ["a", "b", "c", "d"]
    assert [r.status for r in results] == ["ok", "failed", "failed", "ok"]
    assert results[1].reason == "negative value -1"
    assert results[2].reason == "RuntimeError: unlucky"
    assert results[3].extra == {"square": 9, "state": "ready"}  # the worker's initializer ran


def test_write_and_read_index_sorted(tmp_path):
    results = [ClipResult("b", "failed", "bad", {"n": ""}), ClipResult("a", "ok", "", {"n": 3})]
    perclip.write_index(tmp_path, results, ["n"])
    assert (tmp_path / "index.csv").read_text() == "clip,status,reason,n\na,ok,,3\nb,failed,bad,\n"
    index = perclip.read_index(tmp_path)
    assert index["clip"].tolist() == ["a", "b"] and index.reason.tolist() == ["", "bad"]


def test_result_status_is_checked():
    with pytest.raises(ValueError, match="status"):
        ClipResult("a", "skipped")


def test_summarize_exit_codes(capsys):
    mixed = [ClipResult("a", "ok"), ClipResult("b", "failed", "broken")]
    assert perclip.summarize("s", mixed, strict=False) == 0
    assert perclip.summarize("s", mixed, strict=True) == 1
    assert "strict is set and 1 clip(s) failed: b" in capsys.readouterr().err
    assert perclip.summarize("s", [ClipResult("b", "failed", "x")], strict=False) == 1
    assert perclip.summarize("s", [ClipResult("a", "fallback", "centre")], strict=True) == 0


def test_prepare_output_dir_removes_only_stale_outputs(tmp_path):
    for name in ["old.wav", "index.csv", ".x.tmp1.wav", "keep.txt"]:
        (tmp_path / name).write_text("x")
    perclip.prepare_output_dir(tmp_path, [".wav"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
