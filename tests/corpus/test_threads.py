"""avemo.corpus.threads: the runner that `avemo fetch` and `avemo verify` share."""

from __future__ import annotations

import threading

import pytest

from avemo.corpus.threads import run_in_threads


def test_every_item_is_worked_once_in_daemon_threads_and_the_stop_is_set_at_the_end():
    stop = threading.Event()
    # Daemon threads: Ctrl-C ends the program even while one waits on a stalled connection.
    results = dict(run_in_threads(lambda n: (n * n, threading.current_thread().daemon), list(range(10)), 3, stop))
    assert results == {n: (n * n, True) for n in range(10)}
    assert stop.is_set()
    assert list(run_in_threads(lambda n: n, [], 4, threading.Event())) == []


def test_an_error_in_one_item_is_raised_here_and_stops_the_others():
    stop, started = threading.Event(), []

    def work(n):
        started.append(n)
        if n == 0:
            raise ValueError("item 0 failed")
        stop.wait(10)  # the others wait until the runner stops them
        return n

    with pytest.raises(ValueError, match="item 0 failed"):
        list(run_in_threads(work, list(range(20)), 2, stop))
    assert stop.is_set() and len(started) < 20
