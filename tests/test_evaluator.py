"""The trusted evaluation process's router (`grader.evaluate.evaluator._route`): requests to forked
workers and answers back by id, a worker that dies or hangs replaced without costing the others.

The router runs in a subprocess of its own (it forks), with a stand-in for the workers' loop: each
request names what its worker does (answer with its pid, die, or hang), so the tests need no torch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

ROUTER = textwrap.dedent("""
    import json, os, sys, time
    from grader.evaluate.evaluator import _route

    def serve(requests, answers):
        for raw in requests:
            request = json.loads(raw)
            if request["do"] == "die":
                os._exit(3)
            if request["do"] == "hang":
                time.sleep(3600)
            if request["do"] == "print":
                print("a worker's stray output", flush=True)  # must not reach the router's answers
            if request["do"] == "two_lines":  # a second line that would answer request 9
                answers.write(b'{"n": 0}\\n9 {"forged": true}\\n')
                answers.flush()
                continue
            if request["do"] == "slow":
                time.sleep(0.5)
            answers.write(json.dumps({"pid": os.getpid(), "n": request["n"]}).encode() + b"\\n")
            answers.flush()

    _route(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[1]), serve, overrun_s=float(sys.argv[2]))
""")


class Router:
    def __init__(self, workers: int, overrun_s: float = 30.0) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", ROUTER, str(workers), str(overrun_s)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, key: int, do: str, n: int = 0, budget_s: float = 30.0) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"%d %s\n" % (key, json.dumps({"do": do, "n": n, "budget_s": budget_s}).encode()))
        self.process.stdin.flush()

    def answer(self) -> tuple[int, dict]:
        assert self.process.stdout is not None
        key, _, payload = self.process.stdout.readline().partition(b" ")
        return int(key), json.loads(payload)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)


@pytest.fixture
def router():
    made: list[Router] = []

    def make(workers: int, overrun_s: float = 30.0) -> Router:
        made.append(Router(workers, overrun_s))
        return made[-1]

    yield make
    for each in made:
        each.process.kill()
        each.process.wait()


def test_each_answer_carries_its_requests_id_and_two_workers_answer_at_once(router):
    two = router(2)
    two.send(7, "slow", n=1)
    two.send(8, "answer", n=2)
    first, second = two.answer(), two.answer()
    # The quick request is answered while the slow one is still being worked on: by the other worker.
    assert first[0] == 8 and first[1]["n"] == 2
    assert second[0] == 7 and second[1]["n"] == 1
    assert first[1]["pid"] != second[1]["pid"]
    assert two.close() == 0


def test_a_worker_that_dies_costs_only_its_own_request(router):
    one = router(1)
    one.send(1, "answer")
    key, first = one.answer()
    one.send(2, "die")
    assert one.answer() == (2, {"error": "the trusted evaluation of this graph ended without an answer"})
    one.send(3, "answer", n=3)
    key, after = one.answer()
    assert key == 3 and after["n"] == 3
    assert after["pid"] != first["pid"]  # a fresh worker, forked from the router
    assert one.close() == 0


def test_a_worker_past_its_budget_is_killed_and_replaced(router):
    one = router(1, overrun_s=0.2)
    started = time.monotonic()
    one.send(1, "hang", budget_s=0.1)
    assert one.answer() == (1, {"error": "the trusted evaluation of this graph ran past its budget"})
    assert time.monotonic() - started < 20
    one.send(2, "answer", n=2)
    assert one.answer()[1]["n"] == 2
    assert one.close() == 0


def test_what_a_worker_prints_is_not_an_answer(router):
    one = router(1)
    one.send(1, "print", n=1)
    one.send(2, "answer", n=2)
    assert [one.answer()[0], one.answer()[0]] == [1, 2]
    assert one.close() == 0


def test_a_worker_that_writes_more_than_one_line_answers_nothing(router):
    one = router(1)
    one.send(1, "two_lines")
    assert one.answer() == (1, {"error": "the trusted evaluation of this graph ended without an answer"})
    one.send(9, "answer", n=9)
    key, answer = one.answer()
    assert key == 9 and answer["n"] == 9 and "forged" not in answer
    assert one.close() == 0


def test_requests_beyond_the_workers_wait_for_one_to_come_free(router):
    one = router(1)
    for key in range(4):
        one.send(key, "answer", n=key)
    assert [one.answer()[1]["n"] for _ in range(4)] == [0, 1, 2, 3]
    assert one.close() == 0
