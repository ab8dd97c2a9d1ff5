"""The models' tests start from one random state, so random weights and images are the same every run; the
slow trainings use one fold of model_corpus's split."""

import pandas as pd
import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.fixture
def one_fold_split(model_corpus, tmp_path):
    """model_corpus's split with fold 0 only (one repeat per seed), as a file."""
    split = pd.read_csv(model_corpus["split"])
    split[split["fold"] == 0].to_csv(tmp_path / "one_fold.csv", index=False)
    return tmp_path / "one_fold.csv"
