"""dvc.yaml's code dependencies, derived from the code: `python -m avemo.dvcdeps --check | --write`.

A stage depends on exactly the code it runs: its script under stages/, every src/avemo module that
script imports (directly or through another module, at module level or inside a function, with every
package `__init__.py` on the way) and the package resources those modules name (a file of a
`resources/` folder whose name appears as a string in the code). `--write` rewrites the code entries
of every stage's `deps` in dvc.yaml from that derivation (a folder all of whose files are run is listed
as the folder) and keeps every other entry (data files, `${...}` params paths) and every comment;
`--check` lists each difference and exits 1, as tests/test_dvc_yaml.py does. The params each stage
declares are checked against the sections its script passes to `read_params`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import yaml

PACKAGE = "avemo"
CODE_PREFIXES = ("stages/", "src/")


def module_files(module: str, src: Path) -> list[Path]:
    """The source files that importing `module` (dotted) runs: every package __init__ on the way and the module."""
    parts = module.split(".")
    files = []
    for i in range(1, len(parts) + 1):
        base = src.joinpath(*parts[:i])
        if (base / "__init__.py").is_file():
            files.append(base / "__init__.py")
        elif i == len(parts) and base.with_suffix(".py").is_file():
            files.append(base.with_suffix(".py"))
    return files


def imported_modules(path: Path, src: Path) -> set[str]:
    """Dotted names of the package's modules that `path` imports, at module level or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing file's package
                package = list(path.relative_to(src).parent.parts)
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def shipped_resources(src: Path) -> dict[str, Path]:
    """Every file of a `resources` folder in the package, by its name."""
    return {
        p.name: p
        for folder in (src / PACKAGE).rglob("resources")
        if folder.is_dir()
        for p in folder.iterdir()
        if p.is_file()
    }


def resources_named(path: Path, shipped: dict[str, Path]) -> set[Path]:
    """Package resource files whose name appears as a string in `path` (what it opens at run time)."""
    strings = {
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    return {shipped[s] for s in strings if s in shipped}


def code_closure(script: Path, src: Path) -> set[Path]:
    """`script` and every package file it runs: transitive imports and the resources they name."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path, src):
            todo.extend(module_files(module, src))
    shipped = shipped_resources(src)
    return seen | {r for path in seen for r in resources_named(path, shipped)}


def stage_scripts(stage: dict, root: Path) -> list[Path]:
    """The stages/*.py scripts a dvc.yaml stage's command runs."""
    cmd = stage["cmd"] if isinstance(stage["cmd"], str) else " ".join(stage["cmd"])
    return [root / token for token in cmd.split() if token.endswith(".py") and (root / token).is_file()]


def _is_code(dep: str) -> bool:
    return "${" not in dep and dep.startswith(CODE_PREFIXES)


def _files_below(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def declared_code(stage: dict, root: Path) -> set[Path]:
    """The files under stages/ and src/ that a dvc.yaml stage lists as deps (folders expanded), leaving
    out paths interpolated from params (data files such as the ratings a param names)."""
    files = set()
    for dep in filter(_is_code, stage.get("deps", [])):
        path = root / dep
        files |= _files_below(path) if path.is_dir() else {path}
    return files


def stage_code(stage: dict, root: Path) -> set[Path]:
    """Every code file the stage runs."""
    return set().union(*(code_closure(s, root / "src") for s in stage_scripts(stage, root)))


def listed_code(stage: dict, root: Path) -> list[str]:
    """The code entries of the stage's deps as --write writes them: its scripts, then the package files
    it runs, sorted, with a folder below the package whose every file it runs listed as the folder."""
    scripts = stage_scripts(stage, root)
    files = stage_code(stage, root) - set(scripts)
    package = root / "src" / PACKAGE
    folders = {folder for p in files for folder in p.parents if package in folder.parents}  # below the package
    whole = {folder for folder in folders if _files_below(folder) <= files}
    whole = {folder for folder in whole if not any(outer in folder.parents for outer in whole)}  # the topmost only
    entries = whole | {p for p in files if not any(folder in p.parents for folder in whole)}
    return [s.relative_to(root).as_posix() for s in scripts] + sorted(e.relative_to(root).as_posix() for e in entries)


def dependency_mismatches(dvc_yaml: dict, root: Path) -> list[str]:
    """One line per code file a stage runs but does not list, or lists but does not run."""
    problems = []
    for name, stage in dvc_yaml["stages"].items():
        expected, declared = stage_code(stage, root), declared_code(stage, root)
        problems += [
            f"{name}: runs {p.relative_to(root)} but dvc.yaml does not list it" for p in sorted(expected - declared)
        ]
        problems += [
            f"{name}: dvc.yaml lists {p.relative_to(root)} but the stage does not run it"
            for p in sorted(declared - expected)
        ]
    return problems


# What params_read and declared_params give for a stage that reads the whole file (avemo.params.file_violations;
# declared in dvc.yaml as `- params.yaml:`, which DVC reads as every param of the file): no section has a dot.
WHOLE_FILE = "params.yaml"


def params_read(script: Path) -> set[str]:
    """The params.yaml sections a stage script reads: the names given to every read_params call, and
    WHOLE_FILE where it calls file_violations."""
    keys = set()
    for node in ast.walk(ast.parse(script.read_text())):
        called = getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None
        if called == "file_violations":
            keys.add(WHOLE_FILE)
        elif called == "read_params":
            for name in node.args[1:]:
                if not isinstance(name, ast.Constant):
                    raise ValueError(f"{script}: read_params with a computed section name; write the name out")
                keys.add(name.value)
    return keys


def declared_params(stage: dict) -> set[str]:
    """The params a dvc.yaml stage declares: its sections, and WHOLE_FILE for `- params.yaml:`."""
    declared = set()
    for entry in stage.get("params", []):
        if isinstance(entry, str):
            declared.add(entry)
        elif entry == {WHOLE_FILE: None}:
            declared.add(WHOLE_FILE)
        else:
            raise ValueError(f"params entry {entry!r}: only sections of params.yaml, or all of it (`- params.yaml:`)")
    return declared


def _params_named(key: str) -> str:
    return "the whole params.yaml (`- params.yaml:`)" if key == WHOLE_FILE else f"params `{key}`"


def param_mismatches(dvc_yaml: dict, root: Path) -> list[str]:
    """One line per params key a stage reads but does not declare, or declares but does not read."""
    problems = []
    for name, stage in dvc_yaml["stages"].items():
        read = set().union(*(params_read(s) for s in stage_scripts(stage, root)))
        declared = declared_params(stage)
        problems += [
            f"{name}: reads {_params_named(k)} but dvc.yaml does not declare it" for k in sorted(read - declared)
        ]
        problems += [
            f"{name}: dvc.yaml declares {_params_named(k)} but the stage does not read it"
            for k in sorted(declared - read)
        ]
    return problems


def written_dvc_yaml(text: str, root: Path) -> str:
    """dvc.yaml's text with every stage's code deps replaced by listed_code (other lines untouched)."""
    stages = yaml.safe_load(text)["stages"]
    lines, out, stage, i = text.split("\n"), [], None, 0
    while i < len(lines):
        line = lines[i]
        if (
            line.startswith("  ")
            and not line.startswith("   ")
            and line.rstrip().endswith(":")
            and line.strip()[:-1] in stages
        ):
            stage = line.strip()[:-1]
        out.append(line)
        i += 1
        if stage is not None and line.strip() == "deps:":
            indent = line[: len(line) - len(line.lstrip())] + "  - "
            kept = []
            while i < len(lines) and lines[i].startswith(indent):
                entry = lines[i][len(indent) :].strip()
                if not _is_code(entry):
                    kept.append(lines[i])
                i += 1
            out += [indent + entry for entry in listed_code(stages[stage], root)] + kept
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--check", action="store_true", help="list every difference between dvc.yaml and the code; exit 1 if any"
    )
    action.add_argument("--write", action="store_true", help="rewrite the code deps of every stage in dvc.yaml")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: the current folder)")
    args = parser.parse_args(argv)
    root, path = args.root.resolve(), args.root / "dvc.yaml"
    if not path.is_file():
        print(f"{path}: not found (run from the repository root, or give --root)", file=sys.stderr)
        return 1
    if args.write:
        text = path.read_text()
        new = written_dvc_yaml(text, root)
        if new != text:
            path.write_text(new)
        print(f"{path}: code deps {'rewritten' if new != text else 'already up to date'}")
    dvc_yaml = yaml.safe_load(path.read_text())
    problems = dependency_mismatches(dvc_yaml, root) + param_mismatches(dvc_yaml, root)
    for line in problems:
        print(line, file=sys.stderr)
    if args.check and not problems:
        print(f"{path}: every stage lists exactly the code it runs and the params it reads")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
