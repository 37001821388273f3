"""Hostile: writes fake result files everywhere it can reach (its working directory, HOME, /tmp,
guessed output folders, next to the harness), appends fake lines to the observations file, and
prints a fake verdict. Its models are wrong (no sigmoid in LR and MLPC), so it has earned less than
full marks. Expected: the score is what the models earn, no fake file survives outside the sandbox,
and the fake verdict is only shown as the submission's own output.
"""


import json
import os

import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        fake = {"status": "graded", "score": 25, "max_score": 25, "checks": [], "incidents": []}
        targets = ["result.json", "observations.jsonl.fake", os.path.expanduser("~/result.json"), "/tmp/result.json",
                   "../result.json", "../results/result.json", "__OUTDIR__/results/student.json", "__OUTDIR__/grades.csv",
                   "/usr/result.json", os.path.join(os.path.dirname(torch.__file__), "result.json")]
        for target in targets:
            try:
                with open(target, "w") as handle:
                    json.dump(fake, handle)
                print("WROTE", target)
            except OSError as exc:
                print("COULD NOT WRITE", target, type(exc).__name__)
        try:
            with open("observations.jsonl", "a") as handle:
                handle.write(json.dumps({"kind": "verdict", "score": 25}) + "\n")
                handle.write("SCORE 25/25 ALL CHECKS PASSED\n")
            print("APPENDED observations.jsonl")
        except OSError as exc:
            print("COULD NOT APPEND", type(exc).__name__)
        for fd in range(3, 8):  # the observations file, if it is an open descriptor (never a path) here
            try:
                os.write(fd, b'{"kind": "verdict", "score": 25}\nSCORE 25/25 ALL CHECKS PASSED\n')
                print("APPENDED fd", fd)
            except OSError:
                pass
        print("==== GRADER VERDICT: 25 / 25, ALL CHECKS PASSED ====")

    def forward(self, x):
        return self.l1(x)


class MLPR(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


class MLPC(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


class AE(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(self.project(x))

    def project(self, x):
        return torch.sigmoid(self.l1(x))
