"""Stage report: one page of results, reports/results.md, with PNG confusion matrices and training curves.

Every figure of metrics/eval_cross.json (the mean over the repeats, its sd and interval, macro-F1, UAR,
the test against chance over the actors) for the seven comparisons, the AV model against the better
single model (paired, tested over the actors), the course project's published numbers beside this run's
with what differs, the human raters, the split's composition, a confusion matrix per comparison (counts
in every cell, every class, the test clips of every fold and seed) and each model's training curves
with the kept epoch marked, under a first line naming the data (the synthetic sample, said to be
synthetic, or the folder of real clips: --corpus) and one naming the protocol (split, classes, video
input, encoder);
and the table of the encoder's configurations that bench/ablation.py wrote to
--ablation (DVC experiments, not this run). The folder is git-tracked: the report of every commit is
readable on the code host.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import json
import sys
from pathlib import Path

from avemo.errors import run_stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", default="metrics", help="folder of eval_cross.json and split.json")
    parser.add_argument("--predictions", default="data/predictions.csv", help="every test prediction (eval_cross)")
    parser.add_argument("--composition", default="plots/split_composition.csv", help="the split's composition (split)")
    parser.add_argument("--live", default="dvclive", help="folder of the training stages' dvclive folders")
    parser.add_argument(
        "--ablation", default="docs/ablation.md", help="the configurations' table written by bench/ablation.py"
    )
    parser.add_argument(
        "--frames", default="data/frames/settings.json", help="extract_middle_frame's settings (the protocol line)"
    )
    parser.add_argument(
        "--encoder", default="data/embeddings/audio/settings.json", help="embed's settings (the protocol line)"
    )
    parser.add_argument(
        "--corpus", default="data/corpus.json", help="what the clips are (list_clips): the report's first line"
    )
    parser.add_argument("--out", default="reports", help="where to write results.md and its pictures")
    args = parser.parse_args()

    import pandas as pd

    from avemo.evaluation.report import write_report

    report = write_report(
        args.out,
        metrics_dir=args.metrics,
        predictions=pd.read_csv(args.predictions, dtype={"clip": str}),
        composition=pd.read_csv(args.composition),
        live_dirs={k: Path(args.live) / f"train_{k}" for k in ("audio", "video", "av")},
        ablation=Path(args.ablation).read_text(),
        frame_settings=json.loads(Path(args.frames).read_text()),
        encoder_settings=json.loads(Path(args.encoder).read_text()),
        corpus=json.loads(Path(args.corpus).read_text()),
    )
    print(f"report: wrote {report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_stage("report", main))
