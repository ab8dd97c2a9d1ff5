"""Running one function over many items in daemon threads, with a thread-safe progress bar: the runner that
`avemo fetch` (downloads) and `avemo verify` (hashing) share.

Not concurrent.futures: its worker threads are joined when the interpreter exits, so after Ctrl-C the
program would wait for a download stalled on its connection (up to --timeout) instead of ending at once and
leaving its partial file to resume. Not avemo.preprocess.pool either: that runs processes over clip index
files, a layer above the corpus.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator


class Progress:
    """A counter of bytes (or files) done with a progress bar, shown on a terminal only; thread-safe."""

    def __init__(self, total: int, description: str, unit: str = "B"):
        from tqdm import tqdm

        in_bytes = unit == "B"
        self._bar = tqdm(
            total=total, desc=description, unit=unit, unit_scale=in_bytes, unit_divisor=1024, disable=None, leave=False
        )
        self._lock = threading.Lock()

    def add(self, n: int):
        with self._lock:
            self._bar.update(n)

    def close(self):
        with self._lock:
            self._bar.close()  # later add() calls are ignored: a closed bar is disabled


def run_in_threads(work: Callable, items: list, jobs: int, stop: threading.Event) -> Iterator[tuple[object, object]]:
    """Yield (item, work(item)) as each finishes, `jobs` at a time. Daemon threads, so that Ctrl-C ends
    the program at once even while a thread waits on a stalled connection (a download then leaves only
    its partial file). An exception in `work` stops the others and is raised here."""
    todo: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)

    def worker():
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((item, work(item), None))
            except BaseException as err:  # handed to the main thread, which raises it
                done.put((item, None, err))

    for _ in range(max(1, min(jobs, len(items)))):
        threading.Thread(target=worker, daemon=True).start()
    try:
        for _ in items:
            item, result, error = done.get()
            if error is not None:
                raise error
            yield item, result
    finally:
        stop.set()
