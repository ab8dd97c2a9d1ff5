"""Reading and checking params.yaml: one schema for every section, checked before any work.

Each stage reads only its own sections with `read_params(path, *names)`, which checks them (types,
ranges, allowed values, rules across the fields of those sections) and stops at the first violation
with one line naming the key, the value and what is allowed. `python -m avemo.params --check` checks the
whole file, including the rules that join sections no single stage reads together, and lists every
violation. This module imports nothing heavy, so a stage fails on a bad value in well under a second.
"""

from __future__ import annotations

import argparse
import math
import re
import reprlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from avemo.errors import UserError

DEFAULT_PARAMS = Path("params.yaml")

# Allowed values, here so that this module needs no heavy import; the modules that use them import them.
EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
LEVELS = ("LO", "MD", "HI", "XX")
ARCHS = ("efficientnet_lite0", "mobilenet_v3_small", "resnet18", "vgg16")
# Blocks of each arch's backbone (avemo.modeling.encoders.build_encoder): what encoder.trainable counts.
BLOCKS = {"efficientnet_lite0": 16, "mobilenet_v3_small": 11, "resnet18": 8, "vgg16": 13}
FUSIONS = ("concat", "mean")
SHARINGS = ("shared", "separate", "modality_norm")  # fusion.sharing: the AV model's trainable encoder layers
SPLIT_SCHEMES = ("actors", "clips", "published", "ogm_ge")
FACE_FALLBACKS = ("centre", "drop")
PARTS = ("train", "validation", "test")


class ParamsError(UserError):
    """A params.yaml value outside the schema; str(error) names the key, the value and what is allowed."""


class Rule:
    """A check of one value: `test(value)` is true when it is allowed; `allowed` says what is."""

    def __init__(self, allowed: str, test: Callable[[Any], bool]):
        self.allowed, self.test = allowed, test

    def __call__(self, value) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def integer(low: int | None = None, high: int | None = None) -> Rule:
    bounds = " and ".join(
        b for b in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "") if b
    )
    return Rule(
        f"an integer {bounds}".strip(),
        lambda v: _is_int(v) and (low is None or v >= low) and (high is None or v <= high),
    )


def number(
    low: float | None = None, high: float | None = None, *, above: float | None = None, below: float | None = None
) -> Rule:
    parts = [
        f">= {low}" if low is not None else "",
        f"> {above}" if above is not None else "",
        f"<= {high}" if high is not None else "",
        f"< {below}" if below is not None else "",
    ]
    return Rule(
        f"a number {' and '.join(p for p in parts if p)}".strip(),
        lambda v: (
            _is_number(v)
            and (low is None or v >= low)
            and (above is None or v > above)
            and (high is None or v <= high)
            and (below is None or v < below)
        ),
    )


def trainable_depth() -> Rule:
    return Rule(
        "none, all, or an integer >= 1 (the top blocks trained)",
        lambda v: v in ("none", "all") or (_is_int(v) and v >= 1),
    )


def boolean() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def one_of(values) -> Rule:
    return Rule(f"one of {', '.join(values)}", lambda v: isinstance(v, str) and v in values)


def text() -> Rule:
    return Rule("a non-empty string (a path)", lambda v: isinstance(v, str) and v.strip() != "")


def codes(values, *, at_least: int = 0) -> Rule:
    what = f"a list of {'at least ' + str(at_least) + ' ' if at_least else ''}codes from {', '.join(values)}, each once"
    return Rule(
        what,
        lambda v: (
            isinstance(v, list)
            and len(v) >= at_least
            and len(set(map(str, v))) == len(v)
            and all(isinstance(c, str) and c.upper() in values for c in v)
        ),
    )


def integers(*, at_least: int = 0, low: int | None = None) -> Rule:
    least = f"at least {at_least} " if at_least else ""
    what = f"a list of {least}integers{' >= ' + str(low) if low is not None else ''}, each once"
    return Rule(
        what,
        lambda v: (
            isinstance(v, list)
            and len(v) >= at_least
            and len(set(v)) == len(v)
            and all(_is_int(x) and (low is None or x >= low) for x in v)
        ),
    )


CLIP_NAME = re.compile(r"^\d{4}_[A-Z]{3}_[A-Z]{3}_[A-Z]{2}$")


def exclusions() -> Rule:
    return Rule(
        "a mapping of clip names (ActorID_Sentence_Emotion_Level) to the reason each is left out; {} for none",
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(k, str) and CLIP_NAME.match(k) for k in v)
            and all(isinstance(x, str) and x.strip() for x in v.values())
        ),
    )


def fractions() -> Rule:
    return Rule(
        "a mapping of train, validation and test to numbers > 0 that sum to 1",
        lambda v: (
            isinstance(v, dict)
            and set(v) == set(PARTS)
            and all(_is_number(x) and x > 0 for x in v.values())
            and abs(sum(v.values()) - 1) < 1e-6
        ),
    )


def level_strengths() -> Rule:
    return Rule(
        f"a mapping of every level ({', '.join(LEVELS)}) to a number in [0, 2]",
        lambda v: (
            isinstance(v, dict) and set(v) == set(LEVELS) and all(_is_number(x) and 0 <= x <= 2 for x in v.values())
        ),
    )


# Every section of params.yaml: key -> rule. A section given as a Rule is a top-level scalar.
SCHEMA: dict[str, Rule | dict[str, Rule]] = {
    "lr": number(above=0, high=10),
    "strict": boolean(),
    "sample": {
        "actors": integer(1, 8999),
        "sentences": integer(1, len(SENTENCES)),
        "emotions": codes(tuple(EMOTIONS), at_least=1),
        "levels": codes(("LO", "MD", "HI")),
        "intensity": level_strengths(),
        "speaker_style": number(0, 5),
        "ambiguity": number(0, 1),
        "noise": number(0, 5),
        "duration": number(0.5, 60),
        "fps": integer(1, 120),
        "seed": integer(0),
    },
    "data": {
        "raw_dir": text(),
        "demographics": text(),
        "classes": codes(tuple(EMOTIONS), at_least=2),
        "actors": integers(low=1),
        "sentences": codes(SENTENCES),
        "levels": codes(LEVELS),
        "verify_checksums": boolean(),
        "exclude": exclusions(),
    },
    "audio": {"sample_rate": integer(4000, 192000), "max_duration": number(above=0)},
    "melspec": {
        "duration": number(above=0, high=60),
        "n_fft": integer(16, 65536),
        "hop_length": integer(1),
        "n_mels": integer(1, 512),
        "fmin": number(low=0),
        "fmax": number(above=0),
        "top_db": number(above=0, high=200),
    },
    "frame": {
        "position": number(0, 1),
        "count": integer(1, 1000),
        "spread": number(above=0, high=1),
        "max_duration": number(above=0),
    },
    "face": {
        "min_face_size": integer(12),
        "detect_scale": number(above=0, high=1),
        "min_confidence": number(0, 1),
        "margin": number(0, 2),
        "image_size": integer(8, 2048),
        "fallback": one_of(FACE_FALLBACKS),
    },
    "split": {
        "scheme": one_of(SPLIT_SCHEMES),
        "folds": Rule("1 (one split by fractions) or an integer >= 3", lambda v: _is_int(v) and (v == 1 or v >= 3)),
        "fractions": fractions(),
        "seed": integer(0),
        "candidates": integer(1, 100_000),
        "published": text(),
        "validation_share": number(above=0, below=1),
    },
    "encoder": {
        "arch": one_of(ARCHS),
        "pretrained": boolean(),
        "image_size": integer(32, 1024),
        "trainable": trainable_depth(),
    },
    "fusion": {"method": one_of(FUSIONS), "modality_dropout": number(0, 1), "sharing": one_of(SHARINGS)},
    "train": {
        "epochs": integer(1),
        "batch_size": integer(2),
        "weight_decay": number(low=0, high=1),
        "encoder_lr_scale": number(above=0, high=10),
        "seeds": integers(at_least=1, low=0),
        "patience": integer(1),
        "augmentation": boolean(),
        "head_hidden": integer(0, 8192),  # an MLP head wider than this is a mistake (and gigabytes)
        "dropout": number(0, below=1),
    },
    "eval": {"bootstrap": integer(100, 100_000), "seed": integer(0), "ratings": text()},
}


def empty_mel_bands(sample_rate: float, *, n_fft: int, n_mels: int, fmin: float, fmax: float) -> list[int]:
    """The bands (0-based) of librosa's mel filter bank for these settings that hold no FFT bin: their
    filter is zero at every bin, so they are zero in every spectrogram. Band i rises from edge i to i + 1
    and falls to i + 2 of n_mels + 2 edges equally spaced on Slaney's mel scale (librosa's default) from
    fmin to fmax; a bin (every sample_rate / n_fft Hz up to half the rate) counts strictly inside."""

    def mel(hz):  # linear below 1 kHz, logarithmic above
        return 3 * hz / 200 if hz < 1000 else 15 + 27 * math.log(hz / 1000) / math.log(6.4)

    def hz(m):
        return 200 * m / 3 if m < 15 else 1000 * math.exp((m - 15) * math.log(6.4) / 27)

    low, high, step = mel(fmin), mel(fmax), sample_rate / n_fft
    edges = [fmin] + [hz(low + (high - low) * i / (n_mels + 1)) for i in range(1, n_mels + 1)] + [fmax]
    first_bin_above = [math.floor(edge / step) + 1 for edge in edges]
    return [
        i for i in range(n_mels) if not (first_bin_above[i] * step < edges[i + 2] and first_bin_above[i] <= n_fft // 2)
    ]


# Rules that join fields: (sections they read, test, what they require).
CROSS_RULES: list[tuple[tuple[str, ...], Callable[[dict], bool], str]] = [
    (("melspec",), lambda p: p["melspec"]["fmin"] < p["melspec"]["fmax"], "melspec.fmin must be below melspec.fmax"),
    (
        ("melspec", "audio"),
        lambda p: p["melspec"]["fmax"] <= p["audio"]["sample_rate"] / 2,
        "melspec.fmax must be at most half of audio.sample_rate (the Nyquist frequency)",
    ),
    (
        ("melspec", "audio"),
        lambda p: (
            p["melspec"]["fmax"] > p["audio"]["sample_rate"] / 2
            or not empty_mel_bands(
                p["audio"]["sample_rate"], **{k: p["melspec"][k] for k in ("n_fft", "n_mels", "fmin", "fmax")}
            )
        ),
        "some mel bands hold no FFT bin at audio.sample_rate (they would be zero in every spectrogram): widen "
        "melspec.fmin..fmax, or use fewer melspec.n_mels or a larger melspec.n_fft",
    ),
    (
        ("melspec",),
        lambda p: p["melspec"]["hop_length"] <= p["melspec"]["n_fft"],
        "melspec.hop_length must be at most melspec.n_fft",
    ),
    (
        ("encoder",),
        lambda p: p["encoder"]["pretrained"] or p["encoder"]["trainable"] == "all",
        "encoder.pretrained: false needs encoder.trainable: all (frozen random layers learn nothing); change one of "
        "them",
    ),
    (
        ("encoder",),
        lambda p: (
            not isinstance(p["encoder"]["trainable"], int) or p["encoder"]["trainable"] <= BLOCKS[p["encoder"]["arch"]]
        ),
        "encoder.trainable is more blocks than encoder.arch has ("
        + ", ".join(f"{arch} {n}" for arch, n in BLOCKS.items())
        + "); use all to train every layer",
    ),
    (
        ("sample", "data"),
        lambda p: (
            not p["data"]["raw_dir"].startswith("data/sample")
            or set(map(str.upper, p["data"]["classes"])) <= set(p["sample"]["emotions"])
        ),
        "data.classes names an emotion the sample does not render: add it to sample.emotions",
    ),
]


class _Loader(yaml.SafeLoader):
    """YAML as DVC reads params.yaml (YAML 1.2): `1e-3` and `1.0e3` are numbers, where PyYAML's YAML 1.1
    reads a float only with a dot and a signed exponent, and would hand a stage the string '1e-3'."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """The whole params file as a dict; one clear line when it is missing, unreadable or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path} (run from the repository root)")
    try:
        params = yaml.load(path.read_text(), Loader=_Loader) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path} must hold a mapping at its top level")
    return params


def violations(params: dict, names, path: str | Path | None = DEFAULT_PARAMS) -> list[str]:
    """One line per value of the sections `names` that the schema does not allow, then per broken rule
    joining those sections; each line starts with `path: ` (nothing when path is None: values that do
    not come from a file)."""
    lines = []
    where = f"{path}: " if path is not None else ""
    for name in names:
        if name not in SCHEMA:
            raise KeyError(f"no schema for params section {name!r}")  # a bug: a stage reads a section the schema lacks
        rule = SCHEMA[name]
        if name not in params:
            lines.append(f"{where}`{name}` is missing")
        elif isinstance(rule, Rule):
            if not rule(params[name]):
                lines.append(f"{where}{name} is {params[name]!r}; expected {rule.allowed}")
        elif not isinstance(params[name], dict):
            lines.append(f"{where}`{name}` must be a section (a mapping), got {params[name]!r}")
        else:
            section = params[name]
            for key in sorted(set(section) - set(rule)):
                lines.append(f"{where}unknown key {name}.{key}; expected some of {', '.join(rule)}")
            for key, check in rule.items():
                if key not in section:
                    lines.append(f"{where}{name}.{key} is missing; expected {check.allowed}")
                elif not check(section[key]):
                    lines.append(f"{where}{name}.{key} is {section[key]!r}; expected {check.allowed}")
    if not lines:
        for sections, test, requirement in CROSS_RULES:
            if set(sections) <= set(names) and not test(params):
                lines.append(f"{where}{requirement}")
    return lines


def field_violations(fields: dict[str, tuple[str, str, Any]]) -> list[str]:
    """The schema's verdict on values that stand for params fields elsewhere (e.g. in a checkpoint's
    config): `fields` maps each value's own name to (section, key, value). One line per value the schema
    does not allow (`NAME is VALUE; expected ... (section.key)`), then per rule joining fields that are
    all given. A section or key the schema lacks is a bug (KeyError)."""
    lines = [
        f"{name} is {reprlib.repr(value)}; expected {SCHEMA[section][key].allowed} ({section}.{key})"
        for name, (section, key, value) in fields.items()
        if not SCHEMA[section][key](value)
    ]
    sections: dict[str, dict[str, Any]] = {}
    for section, key, value in fields.values():
        sections.setdefault(section, {})[key] = value
    for needed, test, requirement in CROSS_RULES if not lines else []:
        try:
            if set(needed) <= set(sections) and not test(sections):
                lines.append(requirement)
        except KeyError:  # a rule on a field not given
            pass
    return lines


def require(section: str, key: str, value, error: type[Exception] = ParamsError):
    """`value`, when the schema allows it as section.key; else `error`, naming the key and what is allowed.
    The same rule for library code called without read_params (a stage's sections are checked already)."""
    rule = SCHEMA[section][key]
    if not rule(value):
        raise error(f"{section}.{key} must be {rule.allowed}, got {value!r}")
    return value


def read_params(path: str | Path, *names: str) -> dict[str, Any]:
    """The sections `names` of a params file, checked (see the module docstring)."""
    params = load_params(path)
    problems = violations(params, names, path)
    if problems:
        raise ParamsError(problems[0])
    return {name: params[name] for name in names}


def file_violations(path: str | Path = DEFAULT_PARAMS) -> list[str]:
    """One line per problem of the whole params file: every section, every rule, every unknown section
    (what `--check` prints); ParamsError when the file cannot be read as a mapping."""
    params = load_params(path)
    problems = violations(params, list(SCHEMA), path)
    return problems + [
        f"{path}: unknown section `{name}`; expected some of {', '.join(SCHEMA)}"
        for name in params
        if name not in SCHEMA
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check a params file against avemo's schema: every section and every rule."
    )
    parser.add_argument("--check", action="store_true", help="check the file (the only action)")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="params file (default: params.yaml)")
    args = parser.parse_args(argv)
    try:
        problems = file_violations(args.params)
    except ParamsError as err:
        print(err, file=sys.stderr)
        return 1
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"{args.params}: every value is allowed ({len(SCHEMA)} sections)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
