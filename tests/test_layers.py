"""The package's layers: imports run only downwards, and there is no circle."""

import ast

from helpers import SRC

# Lower number, lower layer; a module may import its own layer's subpackage and any layer below.
LAYERS = {"shared": 0, "corpus": 1, "synth": 1, "preprocess": 2, "modeling": 3, "evaluation": 4, "applications": 5}
SHARED = {"__init__", "errors", "machine", "params", "files", "kernels"}


def module_name(path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (SRC / "avemo" / parts[1]).is_dir()):
        return parts[1]
    return "shared" if len(parts) == 1 or parts[1] in SHARED else "applications"


def imports() -> dict[str, set[str]]:
    """avemo module -> the avemo modules it imports (module level or in a function)."""
    graph = {}
    for path in (SRC / "avemo").rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("avemo"):
                names |= {
                    f"{node.module}.{a.name}"
                    if (SRC / node.module.replace(".", "/") / f"{a.name}.py").is_file()
                    else node.module
                    for a in node.names
                }
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names if a.name.startswith("avemo")}
        graph[module_name(path)] = names - {module_name(path)}
    return graph


def test_every_import_runs_down_the_layers():
    upward = [(m, i) for m, targets in imports().items() for i in targets if LAYERS[layer_of(i)] > LAYERS[layer_of(m)]]
    sideways = [
        (m, i)
        for m, targets in imports().items()
        for i in targets
        if LAYERS[layer_of(i)] == LAYERS[layer_of(m)] and layer_of(i) != layer_of(m)
    ]
    assert upward == [] and sideways == []


def test_the_corpus_and_preprocessing_import_no_model_and_no_evaluation():
    low = {m: t for m, t in imports().items() if layer_of(m) in ("corpus", "preprocess", "synth", "shared")}
    assert {(m, i) for m, t in low.items() for i in t if layer_of(i) in ("modeling", "evaluation")} == set()


def test_there_is_no_import_circle():
    graph = imports()
    state: dict[str, int] = {}

    def circle_from(module, path):
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path + [target]
            if target not in state and (found := circle_from(target, path + [target])):
                return found
        state[module] = 2
        return None

    circles = [c for m in sorted(graph) if m not in state and (c := circle_from(m, [m]))]
    assert circles == []


def test_the_layer_test_sees_an_upward_import():
    assert layer_of("avemo.preprocess.media") == "preprocess" and layer_of("avemo.modeling.training") == "modeling"
    assert layer_of("avemo.errors") == "shared" and layer_of("avemo.predict") == "applications"
    assert layer_of("avemo.synth") == "synth" and layer_of("avemo.corpus") == "corpus"
    assert "avemo.preprocess.clipindex" in imports()["avemo.modeling.training"]


def test_the_top_level_holds_at_most_nine_modules_and_every_module_says_what_it_is():
    # __init__, five shared modules (errors, machine, params, files, kernels) and three applications
    top = sorted(p.name for p in (SRC / "avemo").glob("*.py"))
    assert len(top) <= 9, top
    undocumented = [
        str(p.relative_to(SRC))
        for p in (SRC / "avemo").rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert undocumented == []


def test_every_subpackage_init_is_a_docstring_only():
    # A re-exporting __init__ would make every stage that imports one module depend on the whole subpackage;
    # synth's is the sample stage's entry point, and that stage depends on the whole folder anyway.
    inits = [p for p in (SRC / "avemo").glob("*/__init__.py") if p.parent.name != "synth"]
    assert inits and all(len(ast.parse(p.read_text()).body) == 1 for p in inits)
