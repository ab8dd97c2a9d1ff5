import errno
import hashlib

import pytest

from avemo.preprocess import pool
from avemo.preprocess.clipindex import ClipFailure, ClipResult, read_index
from helpers import run_preprocessing


def _square(state, clip, value):
    if value < 0:
        raise ClipFailure(f"negative value {value}")
    if value == 13:
        raise RuntimeError("unlucky")
    return ClipResult(clip, "ok", extra={"square": value * value, "state": state})


def _state():
    return "ready"


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_per_clip_keeps_order_and_turns_clip_failures_into_failed_rows(jobs):
    tasks = [("a", 2), ("b", -1), ("d", 3)]
    results = pool.run_per_clip(_square, tasks, jobs=jobs, initializer=_state)
    assert [r.clip for r in results] == ["a", "b", "d"]
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert results[1].reason == "negative value -1"
    assert results[2].extra == {"square": 9, "state": "ready"}  # the worker's initializer ran


def _blas_thread_counts():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _blas_threads(state, clip):
    return ClipResult(clip, "ok", extra={"threads": _blas_thread_counts()})


@pytest.mark.parametrize("jobs", [1, 2])
def test_jobs_run_on_one_blas_thread_and_the_caller_keeps_its_own(jobs):
    # two threads in each of two workers made melspec 3x slower on 2 cores
    before = _blas_thread_counts()
    assert before and max(before) == 2  # avemo.kernels' count (conftest imports it first)
    results = pool.run_per_clip(_blas_threads, [("a",), ("b",), ("c",)], jobs=jobs)
    assert all(set(r.extra["threads"]) == {pool.JOB_BLAS_THREADS} == {1} for r in results)
    assert _blas_thread_counts() == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_unexpected_exception_in_one_clip_stops_the_run(jobs):
    with pytest.raises(RuntimeError, match="unlucky"):  # a bug, not a bad clip: it keeps its traceback
        pool.run_per_clip(_square, [("a", 2), ("c", 13), ("d", 3)], jobs=jobs, initializer=_state)


def _full_disk(state, clip, value):
    raise OSError(errno.ENOSPC, "No space left on device", f"out/{clip}.npy")


def test_a_full_disk_stops_the_run_with_the_file_it_was_writing(tmp_path):
    with pytest.raises(OSError) as raised:
        pool.run_and_index(_full_disk, [("a", 1), ("b", 2)], [], tmp_path, [], jobs=2)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == "out/a.npy"
    assert not (tmp_path / "index.csv").exists()  # no index: the stage's output is not complete


def test_run_and_index_writes_every_clip_with_the_carried_failures(tmp_path):
    carried = [ClipResult("b", "failed", "upstream: broken")]
    results = pool.run_and_index(_square, [("c", 3), ("a", 2)], carried, tmp_path, ["square"], jobs=1)
    assert [r.clip for r in results] == ["a", "b", "c"]
    index = read_index(tmp_path)
    assert index["clip"].tolist() == ["a", "b", "c"] and index["square"].tolist() == ["4", "", "9"]


def _digests(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_the_four_stages_rerun_with_another_job_count_byte_identical(real_run, tmp_path, real_clips_dir):
    out, _ = real_run
    run_preprocessing(real_clips_dir, tmp_path, jobs=1)
    for stage in ("audio", "melspec", "melspec_previews", "frames", "faces"):
        assert _digests(tmp_path / stage) == _digests(out / stage), stage


def _batch_of_squares(state, tasks):
    # a batch job: each clip's result names the batch it came in (its first clip), a bad clip fails alone
    first = tasks[0][0]
    return [
        pool.failed_result(clip, ClipFailure(f"negative value {value}"))
        if value < 0
        else ClipResult(clip, "ok", extra={"square": value * value, "batch": first, "state": state})
        for clip, value in tasks
    ]


@pytest.mark.parametrize("jobs", [1, 2])
def test_batches_are_cut_in_task_order_whatever_the_job_count(jobs):
    tasks = [("a", 1), ("b", 2), ("c", -3), ("d", 4), ("e", 5)]
    results = pool.run_per_clip(_batch_of_squares, tasks, jobs=jobs, initializer=_state, batch_size=2)
    assert [r.clip for r in results] == ["a", "b", "c", "d", "e"]
    assert [r.extra.get("batch") for r in results] == ["a", "a", None, "c", "e"]
    assert [r.status for r in results] == ["ok", "ok", "failed", "ok", "ok"]
    assert results[2].reason == "negative value -3" and results[4].extra["state"] == "ready"
