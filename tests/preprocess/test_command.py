from avemo.preprocess import command as stagecli
from avemo.preprocess.clipindex import ClipResult


def test_summarize_exit_codes(capsys):
    mixed = [ClipResult("a", "ok"), ClipResult("b", "failed", "broken")]
    assert stagecli.summarize("s", mixed, strict=False) == 0
    assert stagecli.summarize("s", mixed, strict=True) == 1
    assert "strict is set and 1 clip(s) failed: b" in capsys.readouterr().err
    assert stagecli.summarize("s", [ClipResult("b", "failed", "x")], strict=False) == 1
    assert stagecli.summarize("s", [ClipResult("a", "fallback", "centre")], strict=True) == 0
    assert stagecli.summarize("s", [], strict=False) == 1
    assert "no input clips" in capsys.readouterr().err


def test_the_parser_names_the_stage_input_and_its_default():
    parser = stagecli.stage_parser(
        "doc", "melspec", "--audio", "data/audio", "output folder of extract_audio", "data/melspec"
    )
    args = parser.parse_args(["--jobs", "3"])
    assert (args.audio, args.out, args.jobs, args.params) == ("data/audio", "data/melspec", 3, "params.yaml")
    assert "output folder of extract_audio (default: data/audio)" in parser.format_help()
