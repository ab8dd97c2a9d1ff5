"""Stage split: which clips train, validate and test the models, fold by fold (see avemo.corpus.splits).

split.scheme `actors` (default): speaker-independent; with split.folds K >= 3 every actor is tested in
exactly one of K folds (validation: the next fold's actors; training: the rest), with split.folds 1 one
split into split.fractions of the actors. `clips`: the course project's random split of clips, which
shares actors between train and test (the speaker leaks; for comparison only). `published`: the actor
lists of split.published (CREMA-D's speaker_splits.json, shipped with the package; a dependency of this
stage whatever the scheme). `ogm_ge`: the OGM-GE paper's clip lists (shipped with the package), which the
CREMA-D modality-balancing papers report on: its test list tests, split.validation_share of its train list
validates (clip-wise: every actor is in both lists; for comparison with those papers only). Groups are
stratified by sex and emotion.

Only clips with status ok in the clip list that survived preprocessing in at least one modality (their
spectrogram or their face) are split; the others are counted. Writes the split table (clip, actor,
emotion, fold, part), a summary as metrics and the parts' composition (clips per emotion, actors per
sex) as a plot. A split that leaves a part without clips stops here, with one line saying what to change.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import sys

from avemo.corpus.clips import read_clip_list
from avemo.corpus.splits import LEAK_WARNING, make_split
from avemo.errors import run_stage
from avemo.files import write_csv, write_metrics
from avemo.params import read_params
from avemo.preprocess.clipindex import usable_in_any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `split` section)")
    parser.add_argument("--clips", default="data/clips.csv", help="clip list written by list_clips")
    parser.add_argument(
        "--melspec",
        default="data/melspec",
        help="output folder of melspec (its index.csv says which clips have a spectrogram)",
    )
    parser.add_argument(
        "--faces", default="data/faces", help="output folder of face_crop (its index.csv says which clips have a face)"
    )
    parser.add_argument("--out", default="data/split.csv", help="where to write the split table")
    parser.add_argument("--metrics", default="metrics/split.json", help="where to write the split's summary")
    parser.add_argument(
        "--composition", default="plots/split_composition.csv", help="where to write the parts' composition (a plot)"
    )
    args = parser.parse_args()

    params = read_params(args.params, "split")["split"]
    survived = usable_in_any((args.melspec, args.faces))
    table, summary, composition = make_split(read_clip_list(args.clips), params, survived)
    write_csv(args.out, table)
    write_metrics(args.metrics, summary)
    write_csv(args.composition, composition)

    print(
        f"split ({params['scheme']}): {summary['clips']} clips of {summary['actors']} actors in "
        f"{summary['folds']} fold(s), {summary['test_clips_per_fold']} test clips a fold; left out: "
        f"{summary['clips_not_ok']} not ok in the clip list ({summary['clips_excluded']} of them by data.exclude), "
        f"{summary['clips_without_modality']} without a spectrogram or a face, {summary['clips_actor_not_in_split']} "
        "of actors outside the split",
        file=sys.stderr,
    )
    if "published_list_clips" in summary:
        print(
            f"split (ogm_ge): {summary['published_list_clips_found']} of the lists' {summary['published_list_clips']} "
            f"clips found; {summary['clips_not_in_published_lists']} clips of the corpus in neither list, left out",
            file=sys.stderr,
        )
    if summary["actors_in_two_parts"]:
        print(
            f"split: WARNING: {summary['actors_in_two_parts']} actors are in two parts of a fold. {LEAK_WARNING}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_stage("split", main))
