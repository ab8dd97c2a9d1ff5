"""Stage eval_cross: the three trained models on the test part, on their own and on the other modality.

audio_on_audio, audio_on_faces, video_on_faces, video_on_audio, av_on_both, av_on_audio_only and
av_on_faces_only (see avemo.crosstest), each with accuracy, a 95% bootstrap interval for it
(eval.bootstrap resamples, eval.seed), macro-F1 and unweighted average recall as metrics, and its
confusion matrix as a DVC plot (under --live). `human`: the voice-only, face-only and audio-visual
raters' majority-vote accuracy on the same test clips, from eval.ratings (CREMA-D's summaryTable.csv,
shipped with the package; a dependency of this stage). The raters judged the real CREMA-D recordings of
these clip names: on the synthetic sample they describe those recordings, not the sample's clips.
This is the only stage that reads the test part.
"""

import argparse
import sys
from pathlib import Path

from avemo.crosstest import CROSS_TESTS, cross_evaluate, human_baseline
from avemo.clipindex import read_index
from avemo.files import write_metrics
from avemo.params import load_section
from avemo.splits import read_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `eval` section)")
    parser.add_argument("--split", default="data/split.csv", help="split table written by the split stage")
    parser.add_argument("--melspec", default="data/melspec", help="output folder of the melspec stage")
    parser.add_argument("--faces", default="data/faces", help="output folder of the face_crop stage")
    parser.add_argument("--models", default="models", help="folder holding audio.pt, video.pt and av.pt")
    parser.add_argument("--metrics", default="metrics/eval_cross.json", help="where to write the metrics JSON")
    parser.add_argument("--live", default="dvclive/eval_cross", help="dvclive folder for the confusion matrices")
    args = parser.parse_args()

    params = load_section("eval", args.params)
    split = read_split(args.split)
    folders = {"audio": args.melspec, "video": args.faces}
    models = {kind: Path(args.models) / f"{kind}.pt" for kind in ("audio", "video", "av")}
    results, labels = cross_evaluate(
        models, split, {m: read_index(f) for m, f in folders.items()}, folders,
        n_boot=int(params["bootstrap"]), seed=int(params["seed"]), batch_size=int(params["batch_size"]),
    )
    results["human"] = human_baseline(params["ratings"], split)

    from dvclive import Live

    # No dvc.yaml rewriting and no experiment saving: the confusion plots are declared in dvc.yaml by hand.
    live = Live(dir=args.live, save_dvc_exp=False, dvcyaml=None)
    for key, (true, predicted) in labels.items():
        live.log_sklearn_plot("confusion_matrix", true, predicted, name=f"confusion/{key}.json", title=f"{key} (test)")
    live.end()

    write_metrics(args.metrics, results)
    for key in CROSS_TESTS:
        r = results[key]
        low, high = r["accuracy_ci95"]
        print(f"eval_cross: {key:17s} n {r['n']:4d}  acc {r['accuracy']:.3f} [{low:.3f}, {high:.3f}]  macro-F1 {r['macro_f1']:.3f}  UAR {r['uar']:.3f}", file=sys.stderr)
    human = results["human"]
    print(f"eval_cross: human raters of the real CREMA-D recordings of these {human['clips_rated']} clip names: "
          + ", ".join(f"{g} {human[f'{g}_accuracy']:.3f}" for g in ("voice", "face", "audio_visual") if human[f"{g}_accuracy"] is not None), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
