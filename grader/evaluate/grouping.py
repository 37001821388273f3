"""One trusted evaluation shared by a batch's grading threads, which sends the models they ask for
as groups, so that a class's models of one structure train together (issue 15).

Each grading thread asks for its submission's models as `Evaluator.evaluate` would and waits for
their answers. What it asks for waits here until an evaluation worker is free (and at least
`window_s` after it came, so that a submission's models arrive together); then everything waiting
goes as one request (`Evaluator.evaluate_together`), whose stackable models of one structure,
recipe and data the trusted side trains in one loop. While the workers are busy, the next group
grows: the groups are as large as the training is the bottleneck, and a lone submission waits
`window_s` more than with a plain `Evaluator`. A model's numbers do not depend on its group
(`grader.train.stacked`), so the results are those of grading each submission alone.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from grader.evaluate.evaluator import Evaluation, Evaluator, evaluation_request
from grader.protocol.wire import Capture, ModelObservation, Recipe

WINDOW_S = 0.3  # after the first model of a group arrives: a submission's models come within milliseconds
MAX_MODELS = 160  # models in one request: 32 submissions of five (an answer is 40 kB or so per model)
THREADS_PER_WORKER = 8  # a submission's models all wait at once (the pipeline asks for them together)


class GroupingEvaluator(Evaluator):
    """An `Evaluator` whose `evaluate` calls, from any number of threads, go as groups."""

    def __init__(self, scratch_parent: str | None = None, workers: int = 1, window_s: float = WINDOW_S,
                 max_models: int = MAX_MODELS) -> None:
        super().__init__(scratch_parent, workers)
        self.window_s = window_s
        self.max_models = max_models
        self._waiting: list[tuple[dict[str, Any], Future[Evaluation]]] = []
        self._first_came = 0.0
        self._changed = threading.Condition()
        self._free = threading.Semaphore(self.workers)  # evaluation workers without a group
        self._closed = False
        self._senders = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="evaluation-group")
        self._gatherer = threading.Thread(target=self._gather, name="evaluation-window", daemon=True)
        self._gatherer.start()

    @property
    def parallel_models(self) -> int:
        return self.workers * THREADS_PER_WORKER

    def _current(self) -> Any:
        """Closed, it starts no process again (a thread still grading would, for an instructor's check)."""
        if self._closed:
            raise RuntimeError("the trusted evaluation was closed")
        return super()._current()

    def evaluate(self, capture: Capture, claimed: ModelObservation | None, recipe: Recipe,
                 data: dict[str, np.ndarray], budget_s: float, keep_student_init: bool,
                 max_constant: int) -> Evaluation:
        answer: Future[Evaluation] = Future()
        request = evaluation_request(capture, claimed, recipe, data, budget_s, keep_student_init, max_constant)
        with self._changed:
            if self._closed:
                return Evaluation(error="the trusted evaluation was closed")
            if not self._waiting:
                self._first_came = time.monotonic()
            self._waiting.append((request, answer))
            self._changed.notify_all()
        return answer.result()

    def _gather(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                while not self._closed and time.monotonic() < self._first_came + self.window_s:
                    self._changed.wait(self._first_came + self.window_s - time.monotonic())
            self._free.acquire()  # outside the lock: threads go on adding to the group meanwhile
            with self._changed:
                group, self._waiting = self._waiting[:self.max_models], self._waiting[self.max_models:]
                self._first_came = time.monotonic()
            if not group:
                self._free.release()
                continue
            self._senders.submit(self._send, group)

    def _send(self, group: list[tuple[dict[str, Any], Future[Evaluation]]]) -> None:
        try:
            if self._closed:
                raise RuntimeError("it was closed")
            answers = self.evaluate_together([request for request, _ in group])
        except Exception as exc:  # noqa: BLE001 - every waiting thread gets an answer
            answers = [Evaluation(error=f"the trusted evaluation failed: {exc}") for _ in group]
        finally:
            self._free.release()
        for (_, answer), evaluation in zip(group, answers):
            answer.set_result(evaluation)

    def close(self) -> None:
        """Every model still waiting is answered with an error (a batch stopped by Ctrl-C); then the
        process ends, which answers the groups in flight."""
        with self._changed:
            self._closed = True
            waiting, self._waiting = self._waiting, []
            self._changed.notify_all()
        for _, answer in waiting:
            answer.set_result(Evaluation(error="the trusted evaluation was closed"))
        super().close()
        self._senders.shutdown(wait=True)
        super().close()  # a group sent as it closed may have started the process again
