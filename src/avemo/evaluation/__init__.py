"""Evaluation: scores, intervals and tests, the human raters, the cross test on the test parts (the only
reader of them) and the report."""
