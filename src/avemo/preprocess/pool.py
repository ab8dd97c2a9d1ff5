"""Running one job per clip across processes, with a progress bar; results in task order."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from avemo.machine import default_jobs
from avemo.preprocess.clipindex import ClipFailure, ClipResult, write_index

_worker_state: dict = {}


# The BLAS threads of every per-clip job: the workers are the parallelism. Two threads in each of two workers
# (avemo.kernels' count) made melspec's matrix products 3x slower on 2 cores, the threads spinning for a core.
JOB_BLAS_THREADS = 1


def _init_worker(initializer, initargs):
    # One set-up per worker process (e.g. one face detector), never one per clip.
    _worker_state["state"] = initializer(*initargs) if initializer else None


def _start_worker(initializer, initargs):
    threadpool_limits(JOB_BLAS_THREADS, user_api="blas")  # for the worker's life
    _init_worker(initializer, initargs)


def _call(job, task):
    # Only a ClipFailure (bad media, no face, ...) is the clip's own problem and becomes its failed row.
    # Anything else (a full disk, a permission error, running out of memory, a bug) stops the stage: it
    # must not pass for 270 bad clips.
    try:
        return job(_worker_state.get("state"), *task)
    except ClipFailure as err:
        return failed_result(task[0], err)


def _call_each(job, tasks):
    return [_call(job, task) for task in tasks]


def _call_batch(job, tasks):
    return job(_worker_state.get("state"), tasks)


def failed_result(clip: str, failure: ClipFailure) -> ClipResult:
    """The failed result of a clip whose job raised `failure`: what run_per_clip makes of it."""
    return ClipResult(clip, "failed", str(failure))


def run_per_clip(
    job: Callable[..., ClipResult],
    tasks: list[tuple],
    *,
    jobs: int | None = None,
    initializer: Callable | None = None,
    initargs: tuple = (),
    desc: str = "clips",
    uses_torch: bool = False,
    batch_size: int = 1,
) -> list[ClipResult]:
    """Run `job(state, clip, *args)` for every task `(clip, *args)`, in `jobs` processes.

    `state` is what `initializer(*initargs)` returned in that worker. Results come back in task order.
    A job's ClipFailure is that clip's failed result; any other exception stops the run and is raised here.
    With `batch_size` > 1, `job(state, tasks)` gets up to that many consecutive tasks at once (a detector's
    pass over several clips' frames) and returns their results in order, each clip's ClipFailure already
    its failed result (see failed_result). The batches are cut in task order whatever the job count, so the
    results do not depend on it.
    """
    jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
    call = _call_batch if batch_size > 1 else _call_each
    batches = [tasks[first : first + batch_size] for first in range(0, len(tasks), batch_size)]
    results: list[ClipResult] = []
    with tqdm(total=len(tasks), desc=desc, unit="clip", file=sys.stderr, disable=None) as progress:
        if jobs == 1:
            with threadpool_limits(JOB_BLAS_THREADS, user_api="blas"):  # as in a worker, so the same bytes
                _init_worker(initializer, initargs)
                for batch in batches:
                    results += call(job, batch)
                    progress.update(len(batch))
            return results
        # Forked workers start at once with the parent's modules; torch's thread pools are not fork-safe,
        # so jobs that use torch get freshly spawned interpreters.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("spawn" if uses_torch or "fork" not in methods else "fork")
        # Not multiprocessing.Pool: a worker that died (killed, or a write that failed as it exited) left
        # Pool's results waiting forever; the executor raises BrokenProcessPool instead.
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_start_worker, initargs=(initializer, initargs)
        ) as pool:
            futures = [pool.submit(call, job, batch) for batch in batches]
            try:
                for batch, future in zip(batches, futures):
                    results += future.result()
                    progress.update(len(batch))
            except BaseException:  # stop at the first error: the clips not started yet are never run
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return results


def run_and_index(
    job: Callable[..., ClipResult],
    tasks: list[tuple],
    carried: list[ClipResult],
    out_dir: str | Path,
    columns: list[str],
    *,
    other_out_dirs: tuple = (),
    **runner_options,
) -> list[ClipResult]:
    """run_per_clip, then index.csv in `out_dir` for those results and the `carried` upstream failures.

    When the run stops (a write error, a bug), the workers are ended mid-clip: the temporary files they
    were writing, in `out_dir` and `other_out_dirs`, are removed before the error goes on."""
    try:
        results = run_per_clip(job, tasks, **runner_options)
    except BaseException:
        for folder in (out_dir, *other_out_dirs):
            for tmp in Path(folder).glob(".*.tmp*"):
                tmp.unlink(missing_ok=True)
        raise
    results = sorted(results + carried, key=lambda r: r.clip)
    write_index(out_dir, results, columns)
    return results
