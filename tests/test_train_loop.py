"""The one training loop's time budget (grader/train/loop.py), for harness and trusted side alike."""

from __future__ import annotations

import time

import pytest

from grader.train.loop import OutOfBudget, require_budget


def test_a_slow_first_epoch_on_a_busy_machine_does_not_end_the_training():
    """A tenth of a second lost in epoch 1 would project to 50 s over 500 epochs: no projection is
    made before a quarter of the budget is spent, so the score does not depend on the machine's load."""
    now = time.monotonic()
    require_budget(now - 0.1, 1, 500, now + 30)


def test_a_training_too_slow_for_its_budget_gives_up_once_a_quarter_is_spent():
    now = time.monotonic()
    with pytest.raises(OutOfBudget, match="would pass the training time budget"):
        require_budget(now - 10, 10, 500, now + 20)


def test_the_deadline_itself_always_ends_the_training():
    now = time.monotonic()
    with pytest.raises(OutOfBudget, match="passed the training time budget"):
        require_budget(now - 5, 499, 500, now - 0.01)
    require_budget(now - 100, 1, 500, float("inf"))  # no budget: never projected
