"""The `avemo` command (also `python -m avemo`): `avemo COMMAND [options]`.

A thin dispatcher: each command lives in its own module, imported only when that command runs, so
`avemo --help` stays fast and a new command is one line in COMMANDS.
"""

from __future__ import annotations

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import importlib
import sys

# name: (module, function taking (argv, prog) and returning the exit status, one-line summary)
COMMANDS = {
    "fetch": (
        "avemo.corpus.release_command",
        "fetch_main",
        "download CREMA-D (resumable, parallel), every file checked against the official SHA-256",
    ),
    "verify": (
        "avemo.corpus.release_command",
        "verify_main",
        "check a copy of CREMA-D: damaged, unexpected and missing files",
    ),
    "predict": (
        "avemo.predict",
        "predict_main",
        "the emotion of any clip by a trained model (models/av, ...), with every class's probability",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<8} {summary}" for name, (_, _, summary) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="avemo",
        description="Audio-visual emotion recognition on CREMA-D: helper commands beside the DVC pipeline.",
        epilog=f"commands:\n{listing}\n\n`avemo COMMAND --help` explains a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of: " + ", ".join(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's own arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    module, function, _ = COMMANDS[args.command]
    run = getattr(importlib.import_module(module), function)
    prog = f"avemo {args.command}"

    from avemo.errors import run_stage

    try:
        return run_stage(prog, lambda: run(args.args, prog=prog))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
