"""Stage eval_cross: the three trained models on the test part, on their own and on the other modality.

audio_on_audio, audio_on_faces, video_on_faces, video_on_audio, av_on_both, av_on_audio_only and
av_on_faces_only (see avemo.crosstest), each with accuracy, macro-F1, unweighted average recall,
per-class recall, a 95% bootstrap interval for accuracy (eval.bootstrap resamples, eval.seed) and a
confusion matrix (a DVC plot under --live). When data.ratings names a CREMA-D summaryTable.csv, adds
`human`: the voice-only, face-only and audio-visual raters' majority-vote accuracy on the same test
clips (that file is not a DVC dependency: after editing it, run `dvc repro -f eval_cross`).
"""

import argparse
import sys
from pathlib import Path

from avemo.crosstest import CROSS_TESTS, cross_evaluate, human_baseline
from avemo.params import load_section
from avemo.perclip import read_index, write_json
from avemo.splits import read_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads `eval` and `data.ratings`)")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage")
    parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage")
    parser.add_argument("--models", default="models", help="folder holding audio.pt, video.pt and av.pt")
    parser.add_argument("--metrics", default="metrics/eval_cross.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default="dvclive/eval_cross", help="dvclive folder for the confusion matrices")
    args = parser.parse_args()

    params = load_section("eval", args.params)
    ratings = load_section("data", args.params).get("ratings")
    split = read_split(args.split)
    folders = {"audio": args.melspec, "video": args.faces}
    models = {kind: Path(args.models) / f"{kind}.pt" for kind in ("audio", "video", "av")}
    results, labels = cross_evaluate(
        models, split, {m: read_index(f) for m, f in folders.items()}, folders,
        n_boot=int(params["bootstrap"]), seed=int(params["seed"]), batch_size=int(params["batch_size"]),
    )
    if ratings:
        results["human"] = human_baseline(ratings, split)

    from dvclive import Live

    # No dvc.yaml rewriting and no experiment saving: the confusion plots are declared in dvc.yaml by hand.
    live = Live(dir=args.live, save_dvc_exp=False, dvcyaml=None)
    for key, (true, predicted) in labels.items():
        live.log_sklearn_plot("confusion_matrix", true, predicted, name=f"confusion/{key}.json", title=f"{key} (test)")
    live.end()

    write_json(args.metrics, results)
    for key in CROSS_TESTS:
        r = results[key]
        low, high = r["accuracy_ci95"]
        print(f"eval_cross: {key:17s} n {r['n']:4d}  acc {r['accuracy']:.3f} [{low:.3f}, {high:.3f}]  macro-F1 {r['macro_f1']:.3f}  UAR {r['uar']:.3f}", file=sys.stderr)
    if ratings:
        human = results["human"]
        print("eval_cross: human raters " + ", ".join(f"{g} {human[g]['accuracy']}" for g in ("voice", "face", "audio_visual")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
