"""Stage list_clips: the clip list every later stage reads (data/clips.csv).

Lists every file in data.raw_dir, parses CREMA-D names (ActorID_Sentence_Emotion_Level.flv), keeps the
clips that pass data.classes / actors / sentences / levels, joins the actors' sex and age from
data.demographics, and marks files whose name does not parse as failed, with the reason, and the clips that
data.exclude names (CREMA-D's known faulty clips by default) as excluded, with its reason. Each row holds
the clip's path (data.raw_dir joined with its file name): later stages open the clips from there, so no
folder name ever passes through a shell command line. Also writes --corpus (data/corpus.json): the clip
folder and whether it is the synthetic sample (the mark the sample stage leaves in it), which the training
stages record in every checkpoint and the report names.
"""

import avemo.kernels  # noqa: F401  (first: holds numpy's and torch's CPU kernels; see its docstring)

import argparse
import sys
from pathlib import Path

from avemo.corpus.checksums import verify_against_official
from avemo.corpus.clips import list_clips, load_demographics
from avemo.corpus.provenance import write_corpus
from avemo.errors import run_stage
from avemo.files import write_csv
from avemo.params import read_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (reads its `data` section)")
    parser.add_argument("--out", default="data/clips.csv", help="where to write the clip list")
    parser.add_argument(
        "--corpus", default=None, help="where to write what the clips are (default: corpus.json beside --out)"
    )
    args = parser.parse_args()

    data = read_params(args.params, "data")["data"]
    clips, left_out = list_clips(
        data["raw_dir"],
        classes=data.get("classes"),
        actors=data.get("actors"),
        sentences=data.get("sentences"),
        levels=data.get("levels"),
        demographics=load_demographics(data.get("demographics")),
        exclude=data.get("exclude"),
    )
    if data.get("verify_checksums"):
        clips = verify_against_official(clips)
    write_csv(args.out, clips)
    synthetic = write_corpus(args.corpus or Path(args.out).with_name("corpus.json"), data["raw_dir"])[
        "synthetic_sample"
    ]
    left_out["hidden"] -= synthetic  # the sample's mark (avemo.corpus.provenance) is no clip left out

    failed, excluded = clips[clips["status"] == "failed"], clips[clips["status"] == "excluded"]
    filtered = ", ".join(f"{n} by {what}" for what, n in left_out.items() if n) or "none"
    print(
        f"list_clips: {len(clips)} clips from {data['raw_dir']}{' (the synthetic sample)' if synthetic else ''} "
        f"({len(failed)} failed, "
        f"{len(excluded)} excluded by data.exclude; left out by filters: "
        f"{filtered})",
        file=sys.stderr,
    )
    for status, rows in (("failed", failed), ("excluded", excluded)):
        for row in rows.itertuples():
            print(f"  {status} {row.file}: {row.reason}", file=sys.stderr)
    if (clips["status"] == "ok").sum() == 0:
        print("list_clips: no usable clip; check data.raw_dir and the filters in params.yaml", file=sys.stderr)
        return 1
    present = set(clips.loc[clips["status"] == "ok", "emotion"])
    absent = [c for c in data["classes"] if c not in present]
    if absent:  # a model would silently learn the other classes only
        print(
            f"list_clips: no usable clip of class(es) {', '.join(absent)} in {data['raw_dir']}: remove them from "
            "data.classes, or add their clips",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_stage("list_clips", main))
