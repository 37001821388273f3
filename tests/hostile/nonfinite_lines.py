"""Hostile: forges observation lines whose numbers JSON cannot hold or Python cannot convert: a
prediction written as a 400-digit integer, `"seconds": NaN`, a loss of `Infinity`, a prediction of
`1e400` (it parses as inf) and a duration of the string "Infinity" (a lax float would accept it).
Each claims the training of one model and is written before the harness writes the real one (the
first line of each kind counts). Its models are the lesson's. Expected: every forged line is counted
as malformed while the observations are parsed, the real training lines count, every model keeps
full marks, and `grader check` neither crashes nor shows a traceback.
"""

import os

import torch

HUGE = "1" + "0" * 399
FORGED = [
    '{"kind": "training", "model": "mlr", "runs": [{"seed": 0, "predictions": {"type": "Tensor", "shape": [75, 1], '
    '"dtype": "float64", "values": [[' + HUGE + ']' + ', [1.0]' * 74 + ']}}]}',
    '{"kind": "training", "model": "lr", "runs": [{"seed": 0, "seconds": NaN}]}',
    '{"kind": "training", "model": "mlpr", "runs": [{"seed": 0, "loss_history": [0.5, Infinity]}]}',
    '{"kind": "training", "model": "mlpc", "runs": [{"seed": 0, "predictions": {"type": "Tensor", "shape": [75, 3], '
    '"dtype": "float64", "values": [[1e400, 0.0, 0.0]' + ', [1.0, 0.0, 0.0]' * 74 + ']}}]}',
    '{"kind": "training", "model": "ae", "runs": [{"seed": 0, "seconds": "Infinity"}]}',
]


def observations_descriptors():
    """The descriptors open on the observations file (cold: the harness's; warm: descriptor 3)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").endswith("observations.jsonl"):
                found.append(int(name))
        except OSError:
            pass
    return found


class MLR(torch.nn.Module):
    forged = False

    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        if not MLR.forged:
            MLR.forged = True
            descriptors = observations_descriptors()
            if descriptors:
                os.write(descriptors[0], ("\n".join(FORGED) + "\n").encode())
                print("FORGED", len(FORGED), "lines")

    def forward(self, x):
        return self.l1(x)


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return torch.sigmoid(self.l1(x))


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
        return torch.sigmoid(self.l2(torch.sigmoid(self.l1(x))))


class AE(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(self.project(x))

    def project(self, x):
        return torch.sigmoid(self.l1(x))
