"""The models' tests start from one random state, so random weights and images are the same every run."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
