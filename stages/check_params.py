"""Stage check_params: the whole params file against the schema, before any other stage runs.

DVC removes a stage's outputs just before it runs the stage, so a bad value found only by the stage that
reads it costs that stage's outputs (git-tracked metrics and plots among them) and every rerun above it.
This stage checks every section and every rule joining sections (as `python -m avemo.params --check`);
every other stage depends on its output, directly or through another stage, so DVC runs it first and
stops there, with one line naming the first bad value, before it removes anything else.

Its output holds the same line whatever the values, so it reruns on every params change and nothing
downstream reruns because of it.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import sys

from avemo.errors import run_stage
from avemo.files import atomic_write
from avemo.params import ParamsError, file_violations

# The output's whole content: fixed, so that its hash changes with no valid value.
CHECKED = "every value of the params file is allowed by avemo's schema (src/avemo/params.py)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads all of it; default: params.yaml)")
    parser.add_argument("--out", default="data/params_checked.txt", help="written when every value is allowed")
    args = parser.parse_args()

    problems = file_violations(args.params)
    if problems:
        more = (
            f" (and {len(problems) - 1} more: python -m avemo.params --check lists them)" if len(problems) > 1 else ""
        )
        raise ParamsError(problems[0] + more)
    atomic_write(args.out, lambda tmp: tmp.write_text(CHECKED))
    print(f"check_params: {args.params}: every value is allowed")


if __name__ == "__main__":
    sys.exit(run_stage("check_params", main))
