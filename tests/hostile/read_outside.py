"""Hostile: reads files outside its submission and prints what it finds (and lists directories).

The test replaces __PATHS__ with files that must stay invisible: the reference solution, the
assignment spec, the hidden labels' source, a canary in the grader's home and output folder,
/etc/shadow. Expected: every one DENIED, nothing of them in the result, all models keep full marks.
"""


import os

import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        for path in __PATHS__:
            try:
                with open(path, "rb") as handle:
                    print("READ", path, handle.read(200))
            except OSError as exc:
                print("DENIED", path, type(exc).__name__)
        for folder in ("/", "/root", "/home", "/tmp", os.path.expanduser("~")):
            try:
                print("LIST", folder, sorted(os.listdir(folder))[:30])
            except OSError as exc:
                print("DENIED", folder, type(exc).__name__)

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
