"""Stage eval_cross: every trained model on the test parts, on its own modality and on the other one.

The only stage that reads the test parts. For every fold of the split and every training seed, the
three models of that repeat score the seven comparisons of avemo.evaluation.crosstest (audio_on_audio,
audio_on_faces, video_on_faces, video_on_audio, av_on_both, av_on_audio_only, av_on_faces_only). Per
comparison, metrics/eval_cross.json holds the mean accuracy over the repeats, its std, a 95% interval
(actor bootstrap of the pooled predictions, eval.bootstrap resamples, eval.seed; exact binomial at 0 or
1), macro-F1, UAR, the number of repeats, test clips per repeat, test actors and a test against chance
over the actors; and `av_vs_best_single`: the AV model against the better single-modality model (the
difference of accuracy paired clip by clip, its actor-bootstrap interval, a paired sign-flip test over
the actors, the actors and clips paired). See avemo.evaluation.statistics for the methods. The
confusion matrices (pooled over the repeats) are DVC plots under --live, every prediction goes to
--predictions.

`human`: the voice-only, face-only and audio-visual raters' majority vote on the test clips, from
eval.ratings (CREMA-D's summaryTable.csv, shipped with the package; a dependency of this stage), by
CREMA-D's rule (a tied vote is wrong) and with ties shared. The raters chose among all six emotions and
judged the real CREMA-D recordings: on the synthetic sample these figures describe the real recordings
of the test clips' names, not the sample's clips.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import sys

from avemo.errors import run_stage
from avemo.machine import inference_batch_size
from avemo.params import read_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `eval` section)")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage")
    parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage")
    parser.add_argument("--embeddings", default="data/embeddings", help="output folder of the embed stage")
    parser.add_argument("--models", default="models", help="folder holding the audio, video and av models folders")
    parser.add_argument("--metrics", default="metrics/eval_cross.json", help="where to write the metrics JSON")
    parser.add_argument("--predictions", default="data/predictions.csv", help="where to write every test prediction")
    parser.add_argument("--live", default="dvclive/eval_cross", help="dvclive folder for the confusion matrices")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per forward pass: speed and memory; on the CPU also the last digits "
        "(default: $AVEMO_BATCH_SIZE, else 8 on the CPU, 64 on a GPU)",
    )
    args = parser.parse_args()
    if args.batch_size is None:
        inference_batch_size()  # a bad $AVEMO_BATCH_SIZE is reported before the slow imports

    params = read_params(args.params, "eval")["eval"]
    # slow imports (torch) only once the params are known to be right
    from avemo.corpus.split_table import read_split
    from avemo.evaluation.crosstest import cross_metrics, cross_predictions, human_baseline, results_text
    from avemo.files import write_csv, write_metrics
    from avemo.modeling.inference import pick_device
    from avemo.preprocess.clipindex import read_index

    batch_size = args.batch_size or inference_batch_size(pick_device().type)

    split = read_split(args.split)
    folders = {"audio": args.melspec, "video": args.faces}
    models = {kind: f"{args.models}/{kind}" for kind in ("audio", "video", "av")}
    predictions = cross_predictions(
        models, split, {m: read_index(f) for m, f in folders.items()}, folders, args.embeddings, batch_size=batch_size
    )
    classes = sorted(split["emotion"].unique().tolist())
    results = cross_metrics(predictions, classes, n_boot=int(params["bootstrap"]), seed=int(params["seed"]))
    results["human"] = human_baseline(params["ratings"], split)
    write_csv(args.predictions, predictions)

    from dvclive import Live

    # No dvc.yaml rewriting and no experiment saving: the confusion plots are declared in dvc.yaml by hand.
    live = Live(dir=args.live, save_dvc_exp=False, dvcyaml=None)
    for key, rows in predictions.groupby("comparison"):
        model, given = key.split("_on_")
        title = f"{model} model on {given.replace('_', ' ')}: test clips of every fold and seed"
        live.log_sklearn_plot(
            "confusion_matrix",
            rows["true"].tolist(),
            rows["predicted"].tolist(),
            name=f"confusion/{key}.json",
            title=title,
        )
    live.end()

    write_metrics(args.metrics, results)
    print(f"\n{results_text(results, len(classes))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_stage("eval_cross", main))
