"""README.md and docs/: a short README whose first screen holds the two commands, links and anchors that
resolve, commands and module paths that exist, and no figure copied by hand."""

import re
import shlex
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
SRC = REPO / "src"

# The README's two commands, exactly: the pipeline on a fresh machine, and the tests (.ci/run runs the latter).
SETUP = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && . .venv/bin/activate"
REPRO_COMMAND = f"{SETUP} && dvc repro"
TEST_COMMAND = f"{SETUP} && pytest"

# Written by benchmarks (bench/sample_stats.py, bench/ablation.py), not by hand: their figures are allowed there
# only, and in the README's block that bench/ablation.py --readme writes.
GENERATED = DOCS / "sample-stats.md"
ABLATION = DOCS / "ablation.md"
README_BLOCK = re.compile(
    r"<!-- the table bench/ablation.py --readme writes: do not edit by hand -->\n(.*?)"
    r"<!-- end of the table bench/ablation.py --readme writes -->",
    re.DOTALL,
)

# Modules of the old flat package that moved into subpackages (or, for `resources`, into corpus/).
MOVED = (
    "dataset",
    "checksums",
    "media",
    "features",
    "faces",
    "clipindex",
    "pool",
    "cli",
    "stagecli",
    "extract_audio",
    "melspec",
    "extract_middle_frame",
    "face_crop",
    "splits",
    "inputs",
    "models",
    "embedding",
    "loading",
    "inference",
    "training",
    "trainingcli",
    "crosstest",
    "report",
    "fetch",
    "evaluation",
    "resources",
)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def handwritten() -> list[Path]:
    return [p for p in pages() if p not in (GENERATED, ABLATION)]


def handwritten_text(page: Path) -> str:
    """A page's text less what a benchmark wrote into it (the README's ablation block)."""
    return README_BLOCK.sub("", page.read_text())


def name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def fenced_split(text: str) -> tuple[list[str], list[str]]:
    """(prose lines, code lines) of a Markdown text: code is what fenced blocks hold."""
    prose, code, inside = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            prose.append("")
            continue
        (code if inside else prose).append(line)
    return prose, code


def prose_of(text: str) -> str:
    """The text outside fenced blocks and inline code."""
    return re.sub(r"`[^`\n]*`", "", "\n".join(fenced_split(text)[0]))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in fenced_split(path.read_text())[0]:
        if m := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    """Link targets of a page's prose (inline links and images), not of its code."""
    prose = re.sub(r"`[^`\n]*`", "", "\n".join(fenced_split(path.read_text())[0]))
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose)


def test_readme_is_under_12_kib():
    size = README.stat().st_size
    assert size < 12 * 1024, f"README.md is {size} bytes; move detail to docs/"


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    broken = []
    for page in pages():
        for target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{name(page)}: {target} (no such file)")
            elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
                broken.append(f"{name(page)}: {target} (no heading #{anchor} in {name(dest)})")
    assert broken == []


def test_the_generated_sample_statistics_page_exists():
    linked = any((p.parent / t.partition("#")[0]).resolve() == GENERATED for p in handwritten() for t in links(p))
    assert linked, "the docs should link docs/sample-stats.md for the sample's measured figures"
    assert GENERATED.exists(), (
        "docs/sample-stats.md is missing: python bench/sample_stats.py --seeds 0 1 --jobs 2 --no-speaker-id "
        "--markdown docs/sample-stats.md"
    )
    assert (
        "python bench/sample_stats.py" in GENERATED.read_text().split("\n\n")[2]
    )  # the command that wrote it, up front


def test_the_slug_rule_matches_github():
    assert slug("Cost and GPU") == "cost-and-gpu"
    assert slug("`dvc plots show` without a network") == "dvc-plots-show-without-a-network"
    assert slug("Settings: params and machine settings") == "settings-params-and-machine-settings"


def test_the_first_two_code_lines_are_the_two_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    code = [line.strip() for line in fenced_split(text)[1] if line.strip()]
    assert code[:2] == [REPRO_COMMAND, TEST_COMMAND]

    first_screen = text.split("\n## ", 1)[0]  # everything before the first section
    for needed in (REPRO_COMMAND, TEST_COMMAND, "reports/results.md", "docs/"):
        assert needed in first_screen, needed

    wanted = [part.strip() for part in TEST_COMMAND.split("&&")]
    ci_lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    runs_it = [
        line
        for line in ci_lines
        if [p.strip() for p in line.split("&&")][-1] == wanted[-1] and ". .venv/bin/activate" in line
    ]
    assert runs_it, f".ci/run has no line that activates .venv and then runs {wanted[-1]!r}"


def module_exists(dotted: str) -> bool:
    """Whether `avemo.x.y...` names a module or package (a name after a module is an attribute of it;
    after a package it must be a module of it, as every __init__.py is a docstring only)."""
    parts = dotted.split(".")
    where = SRC / parts[0]
    for part in parts[1:]:
        if (where / part).is_dir() and (where / part / "__init__.py").is_file():
            where = where / part
        elif (where / f"{part}.py").is_file():
            return True
        else:
            return False
    return (where / "__init__.py").is_file()


def test_every_command_and_module_the_docs_name_exists():
    missing = []
    for page in pages():
        text = page.read_text()
        for script in re.findall(r"\bpython3? (?:-\S+ )*((?:stages|bench|dvc_template)/[^\s`'\"<>)]+\.py)", text):
            if not (REPO / script).is_file():
                missing.append(f"{name(page)}: python {script}")
        for module in re.findall(r"\bpython3? -m (avemo(?:\.\w+)*)", text):
            if not module_exists(module):
                missing.append(f"{name(page)}: python -m {module}")
        for module in set(re.findall(r"(?<![\w/.-])avemo(?:\.[A-Za-z_]\w*)+", text)):
            if not module_exists(module):
                missing.append(f"{name(page)}: {module}")
        for path in set(re.findall(r"(?<![\w/.-])((?:src|stages|bench|tests|presets|dvc_template)/[\w./-]*\w)", text)):
            if "<" not in path and not (REPO / path).exists():
                missing.append(f"{name(page)}: {path}")
    assert missing == []


def test_no_page_names_an_old_flat_module():
    old = []
    for page in pages():
        text = page.read_text()
        for moved in MOVED:
            if re.search(rf"src/avemo/{moved}\.py\b", text) or (
                re.search(rf"src/avemo/{moved}/", text) and not (SRC / "avemo" / moved).is_dir()
            ):
                old.append(f"{name(page)}: src/avemo/{moved}")
            # e.g. `avemo.fetch`; a moved name that is now a package (`avemo.evaluation`) is fine
            if re.search(rf"(?<![\w/.])avemo\.{moved}\b(?!\.\w)", text) and not module_exists(f"avemo.{moved}"):
                old.append(f"{name(page)}: avemo.{moved}")
    assert old == []


# A measured timing or size: a number with a unit of time, size or throughput.
MEASURE = re.compile(r"\b\d[\d,.]*\s?(?:ms|s|sec|seconds|min|minutes|h|hours|kB|KB|MB|MiB|GB|GiB|TB|clips/s)(?![\w/])")


def blocks(text: str) -> list[str]:
    """Paragraphs and list items of the prose (code left out)."""
    prose = "\n".join(fenced_split(text)[0])
    return [b for b in re.split(r"\n\s*\n|\n(?=\s*[-*] |\s*\d+\. )", prose) if b.strip()]


def test_a_measured_figure_stands_beside_its_bench_command_and_in_one_place_only():
    seen, problems = {}, []
    for page in handwritten():
        for block in blocks(handwritten_text(page)):
            # Inline code is left out (a param's value is no measurement), unless it names a bench command.
            kept = re.sub(r"`[^`\n]*`", lambda m: m.group(0) if "bench/" in m.group(0) else "", block)
            figures = MEASURE.findall(kept)
            if figures and not re.search(r"python bench/\w+\.py", block):
                problems.append(f"{name(page)}: {figures} without the bench command that measured them")
            for figure in figures:
                if figure in seen and seen[figure] != (page, block):
                    problems.append(f"{name(page)}: {figure!r} also in {name(seen[figure][0])}")
                seen.setdefault(figure, (page, block))
    assert problems == []


def test_no_accuracy_is_copied_into_the_docs():
    found = []
    for page in handwritten():
        prose = prose_of(handwritten_text(page))
        for figure in re.findall(r"(?<![\w.])(?:0?\.\d{2,}|\d{1,3}(?:\.\d+)? ?%)(?![\w.])", prose):
            found.append(f"{name(page)}: {figure}")
    assert found == [], "link reports/results.md (or docs/sample-stats.md) instead of copying figures"


def test_the_readme_commands_are_shell_words():
    # The slow pipeline test runs the README's `dvc exp show` line as written; it must stay one line.
    lines = [line for line in README.read_text().splitlines() if line.startswith("dvc exp show")]
    assert len(lines) == 1 and shlex.split(lines[0])[:2] == ["dvc", "exp"]


def test_the_readmes_ablation_block_holds_only_figures_of_the_page_bench_ablation_wrote():
    block = README_BLOCK.search(README.read_text())
    assert block, "README.md lost the block bench/ablation.py --readme writes"
    assert "python bench/ablation.py" in ABLATION.read_text()  # the page says the command that wrote it
    figures = re.findall(r"[+-]?\d+\.\d{3}", block.group(1))
    page = ABLATION.read_text()
    assert [f for f in figures if f not in page] == []
