"""avemo.corpus.selection: which clips of the release the options of `avemo fetch` and `avemo verify` pick."""

from __future__ import annotations

import csv
import re

from avemo.corpus.checksums import official_manifest
from avemo.corpus.selection import select_clips
from helpers import SELECT_SIX, run_avemo


def test_selection_flags_pick_exactly_the_matching_names_of_the_manifest(crema_d_dir, capsys):
    with open(crema_d_dir / "checksums.csv") as f:
        official = [row["path"] for row in csv.DictReader(f)]
    expected = [p for p in official if re.fullmatch(r"VideoFlash/1001_DFA_(ANG|SAD)_[A-Z]{2}\.flv", p)]
    assert expected == ["VideoFlash/1001_DFA_ANG_XX.flv", "VideoFlash/1001_DFA_SAD_XX.flv"]

    status, out, _ = run_avemo(capsys, "fetch", "unused", *SELECT_SIX, "--emotions", "ANG,SAD", "--dry-run")
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()[:-1]] == expected
    assert out.splitlines()[-1] == "2 files, 503.3 KiB"

    manifest = official_manifest()
    audio = select_clips(manifest, folders=["AudioWAV", "AudioMP3"], actors=["1091"], levels=["HI"])
    hi_of_1091 = r"Audio(WAV|MP3)/1091_[A-Z]{3}_[A-Z]{3}_HI\.(wav|mp3)"
    assert [e.path for e in audio] == [p for p in official if re.fullmatch(hi_of_1091, p)]
    assert len(select_clips(manifest)) == 7442  # VideoFlash, every clip, by default


def test_a_selection_that_matches_no_clip_is_a_user_error(capsys):
    status, out, err = run_avemo(capsys, "fetch", "unused", *SELECT_SIX, "--levels", "HI", "--dry-run")
    assert status == 1 and out == ""
    assert err == "avemo fetch: the selection matches no clip of the release (each option narrows it; see --help)\n"
