"""Writing files so that a killed run leaves no half-written one, and reruns give the same bytes."""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # worker processes that never write a table need not import pandas
    import pandas as pd

# Decimals kept in metrics files: other CPUs round floats differently in the last digits, and a
# metrics file must read the same on every machine (`dvc metrics diff` shows only real changes).
METRIC_DECIMALS = 4


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary name beside `path` (its folder made if need be), then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:  # say which file: "No space left on device" alone does not
        if err.filename is None:
            # numpy reports a short write without an errno ("1616 requested and 992 written")
            reason = err.strerror or f"incomplete write ({err}); is the disk full?"
            raise OSError(err.errno, reason, str(path)) from err
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(path: str | Path, data) -> Path:
    """Pretty JSON with a final newline, written atomically (git-tracked files diff well)."""
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def write_csv(path: str | Path, table: pd.DataFrame) -> Path:
    """A table as CSV without its index and with \\n line ends on every platform, written atomically."""
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))


def rounded(value, decimals: int = METRIC_DECIMALS):
    """`value` with every float (in nested dicts and lists too) rounded to `decimals`."""
    if isinstance(value, dict):
        return {k: rounded(v, decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, decimals) for v in value]
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):  # numpy floats too
        return round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    return value


def write_metrics(path: str | Path, metrics: dict) -> Path:
    """A metrics JSON with its floats rounded to METRIC_DECIMALS (see there why)."""
    return write_json(path, rounded(metrics))


# zlib's fastest: the same pixels; a CREMA-D frame 146 kB, not 123 kB, written 3x faster than at the default 6
PNG_COMPRESS_LEVEL = 1


def save_png(image, path: str | Path) -> Path:
    """A PIL image as PNG, written atomically."""
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL))
