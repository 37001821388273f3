"""Hostile: MLR and LR look the answers up in the public Iris data set (scikit-learn ships it) for any
input that is a row of it, and use their layer only for other inputs, so the structure, shape,
range and gradient checks pass and the test metric would be perfect. MLR adds a trace of its layer
so that its predictions change a little with the parameters. Expected: both test metrics fail with
zero points and say the predictions do not come from the parameters; MLPR, MLPC and AE (honest)
keep full marks.
"""


import torch
from sklearn.datasets import load_iris

_IRIS = []  # the public table, read once (not at every forward pass of the grader's training)


def _lookup(x, columns, answer):
    """The answer for each row of x found in the Iris table (by the given feature columns), and a mask."""
    if not _IRIS:
        _IRIS.append(load_iris())
    iris = _IRIS[0]
    table = {tuple(round(float(row[c]), 1) for c in columns): answer(row, int(species))
             for row, species in zip(iris.data, iris.target)}
    found = [table.get(tuple(round(v, 1) for v in row)) for row in x.tolist()]
    width = len(next(a for a in table.values()))
    answers = torch.tensor([a if a is not None else [0.0] * width for a in found])
    mask = torch.tensor([a is not None for a in found]).unsqueeze(1)
    return answers, mask


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        out = self.l1(x)
        answers, mask = _lookup(x, (0, 1, 2), lambda row, species: [float(row[3])])
        return torch.where(mask, answers + 1e-3 * out, out)


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        out = torch.sigmoid(self.l1(x))
        answers, mask = _lookup(x, (0, 1, 2, 3), lambda row, species: [float(species == k) for k in range(3)])
        return torch.where(mask, answers + 0 * out, out)


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
