"""Stage split: which clips train, validate and test each model, by actor (no actor in two parts).

split.scheme `stratified`: actors shuffled with split.seed, cut into split.fractions, stratified by sex
(where the demographics give it) and by emotion (see avemo.splits). `published`: the actor lists of
split.published (a JSON of train, dev and test actor ids, such as CREMA-D's speaker_splits.json, which
the package ships and params.yaml names by default). That file is a dependency of this stage whatever
the scheme, so editing it reruns the split.

Reads only the clip list and the `split` params, never a preprocessing output, so changing a face or
spectrogram parameter does not rerun it. Writes the split table (clip, actor, emotion, part), actors and
clips per part as metrics, and the parts' composition (clips per emotion, actors per sex) as a plot.
"""

import argparse
import sys

from avemo.dataset import read_clip_list
from avemo.files import write_csv, write_metrics
from avemo.params import load_section
from avemo.splits import PARTS, make_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `split` section)")
    parser.add_argument("--clips", default="data/clips.csv", help="clip list written by list_clips")
    parser.add_argument("--out", default="data/split.csv", help="where to write the split table")
    parser.add_argument("--metrics", default="metrics/split.json", help="where to write actors and clips per part")
    parser.add_argument("--composition", default="plots/split_composition.csv", help="where to write the parts' composition (a plot)")
    args = parser.parse_args()

    params = load_section("split", args.params)
    table, summary, composition = make_split(read_clip_list(args.clips), params)
    write_csv(args.out, table)
    write_metrics(args.metrics, summary)
    write_csv(args.composition, composition)

    parts = ", ".join(f"{p} {summary[f'{p}_clips']} clips / {summary[f'{p}_actors']} actors" for p in PARTS)
    print(f"split ({params.get('scheme', 'stratified')}): {parts}; left out: {summary['clips_not_ok']} not ok, "
          f"{summary['clips_actor_not_in_split']} of actors outside the split", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
