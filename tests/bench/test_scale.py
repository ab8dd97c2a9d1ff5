"""bench/scale.py's report: the cost per clip at each size and the marginal cost between sizes."""

import importlib.util

from helpers import REPO_ROOT


def _scale_bench():
    spec = importlib.util.spec_from_file_location("scale_bench", REPO_ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_gives_the_marginal_cost_and_calls_a_tiny_one_fixed(capsys):
    # melspec: 2 s fixed + 10 ms a clip, then 11 ms a clip; split: 1 s whatever the size
    sizes = {
        4: (100, {"melspec": (3.0, 0.5), "split": (1.0, 0.2)}),
        10: (300, {"melspec": (5.0, 0.6), "split": (1.02, 0.2)}),
        20: (700, {"melspec": (9.4, 0.7), "split": (1.05, 0.3)}),
    }
    _scale_bench().report(sizes)
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if "|" in line}
    melspec, split = rows["melspec"], rows["split"]
    assert melspec[1:4] == ["30.0", "16.7", "13.4"]  # ms a clip at each size: falls as the fixed cost spreads
    assert melspec[4] == "0.81"  # the last two sizes' ratio (13.43 / 16.67)
    assert melspec[6:9] == ["10.0", "11.0", "1.10"]  # marginal ms a clip between the sizes, their ratio
    assert melspec[9] == "0.70"  # the largest peak
    assert split[8] == "fixed"
