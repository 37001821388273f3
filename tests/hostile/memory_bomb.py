"""Hostile: MLPC's constructor keeps allocating (and touching) memory until something stops it.
Expected: the cgroup memory limit kills the run; MLR, LR and MLPR keep full marks; the result names
the memory limit.
"""


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
        hoard = []
        while True:
            hoard.append(b"x" * (32 << 20))

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
