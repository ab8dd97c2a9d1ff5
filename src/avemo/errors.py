"""How a stage ends: errors a user can cause (a parameter, a missing file, a full disk) print one line
that says what to change and exit non-zero; a bug keeps its traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """Something the user can change; str(error) is the one line that says what."""


def os_error_line(err: OSError) -> str:
    """`No space left on device: data/melspec/1001_DFA_ANG_XX.npy`, or as close as the error allows."""
    what = err.strerror or str(err) or type(err).__name__
    return f"{what}: {err.filename}" if err.filename else what


INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


def run_stage(stage: str, main: Callable[[], int | None]) -> int:
    """Run a stage's main; a UserError, OSError or MemoryError becomes one line and exit status 1, Ctrl-C one
    line and INTERRUPTED."""
    try:
        return main() or 0
    except KeyboardInterrupt:
        print(f"{stage}: interrupted (Ctrl-C); `dvc repro` runs the stage again", file=sys.stderr)
        return INTERRUPTED
    except UserError as err:
        print(f"{stage}: {err}", file=sys.stderr)
    except OSError as err:
        print(f"{stage}: {os_error_line(err)}", file=sys.stderr)
    except MemoryError:
        print(
            f"{stage}: out of memory; use fewer --jobs (AVEMO_JOBS) or a smaller batch size (AVEMO_BATCH_SIZE, "
            "train.batch_size)",
            file=sys.stderr,
        )
    return 1
