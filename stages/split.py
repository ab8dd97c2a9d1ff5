"""Stage split: which clips train, validate and test each model, by actor (no actor in two parts).

split.scheme `stratified`: actors shuffled with split.seed, cut into split.fractions, stratified by sex
(where the demographics give it) and by emotion (see avemo.splits). `published`: the actor lists of
split.published (a JSON of train, dev and test actor ids, such as CREMA-D's speaker_splits.json; that
file is not a DVC dependency, so after editing it run `dvc repro -f split`; its SHA-256 is recorded in
the metrics).

Reads only the clip list and the `split` params, never a preprocessing output, so changing a face or
spectrogram parameter does not rerun it. Writes the split table (clip, actor, emotion, part) and a
summary (actors, clips, emotions and sexes per part) as metrics.
"""

import argparse
import sys

from avemo.dataset import read_clip_list, sha256_of
from avemo.params import load_section
from avemo.perclip import atomic_write, write_json
from avemo.splits import PARTS, make_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `split` section)")
    parser.add_argument("--clips", default="data/clips.csv", help="clip list written by list_clips")
    parser.add_argument("--out", default="data/split.csv", help="where to write the split table")
    parser.add_argument("--metrics", default="metrics/split.json", help="where to write the split summary")
    args = parser.parse_args()

    params = load_section("split", args.params)
    table, summary = make_split(read_clip_list(args.clips), params)
    if summary["scheme"] == "published":
        summary["published_sha256"] = sha256_of(params["published"])
    atomic_write(args.out, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    write_json(args.metrics, summary)

    parts = ", ".join(f"{p} {summary[p]['clips']} clips / {summary[p]['actors']} actors" for p in PARTS)
    print(f"split ({summary['scheme']}): {parts}; left out: {summary['clips_not_ok']} not ok, "
          f"{summary['clips_actor_not_in_split']} of actors outside the split", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
