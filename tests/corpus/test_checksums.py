"""Checking a copy of CREMA-D against the official release's SHA-256."""

import csv
import shutil

from avemo.corpus import checksums
from avemo.corpus import clips as dataset


def test_official_checksums_cover_the_release_and_match_real_clips(tmp_path, real_clips_dir):
    official = checksums.official_checksums()
    assert len(official) == 7442
    clips, _ = dataset.list_clips(real_clips_dir)
    assert (checksums.verify_against_official(clips).status == "ok").all()

    damaged_dir = tmp_path / "copy"
    damaged_dir.mkdir()
    for row in clips.itertuples():
        shutil.copyfile(real_clips_dir / row.file, damaged_dir / row.file)
    with open(damaged_dir / "1001_DFA_SAD_XX.flv", "r+b") as f:
        f.seek(5000)
        f.write(b"\0\0\0\0")
    damaged, _ = dataset.list_clips(damaged_dir)
    verified = checksums.verify_against_official(damaged).set_index("clip")
    assert verified.at["1001_DFA_SAD_XX", "status"] == "failed"
    assert "SHA-256 differs" in verified.at["1001_DFA_SAD_XX", "reason"]
    assert (verified.drop("1001_DFA_SAD_XX").status == "ok").all()


def test_shipped_manifest_is_the_official_checksums_of_all_three_folders(crema_d_dir):
    from avemo.corpus.checksums import official_manifest

    with open(crema_d_dir / "checksums.csv") as f:
        official = [(row["path"], int(row["size"]), row["sha256"]) for row in csv.DictReader(f)]
    assert len(official) == 3 * 7442
    assert [(e.path, e.size, e.sha256) for e in official_manifest().values()] == official
    # list_clips' table is the VideoFlash part of it, by file name
    videoflash = {path.split("/")[1]: sha256 for path, _, sha256 in official if path.startswith("VideoFlash/")}
    assert checksums.official_checksums() == videoflash
