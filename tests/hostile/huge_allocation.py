"""Hostile: MLPR's constructor asks for one absurd block of memory (a tensor of 4 TB). Expected: the
allocation fails inside the sandbox (RLIMIT_DATA) instead of taking the machine's memory; only MLPR
loses its points, the models after it keep theirs, and the result names the memory limit.
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
        self.table = torch.ones(10 ** 12)

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
