"""Reading params.yaml: each stage reads only its own section (plus top-level keys it names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_PARAMS = Path("params.yaml")


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """The whole params file as a dict; a clear error when it is missing or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file not found: {path} (run from the repository root)")
    with path.open() as f:
        params = yaml.safe_load(f) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{path} must hold a mapping at its top level")
    return params


def load_section(name: str, path: str | Path = DEFAULT_PARAMS) -> Any:
    """One top-level key of params.yaml (a section such as `melspec`, or a scalar such as `lr`)."""
    params = load_params(path)
    if name not in params:
        raise KeyError(f"{path} has no top-level key {name!r}")
    return params[name]
