"""Hostile: monkeypatches the metric and loss functions of torch, numpy and scikit-learn so that
everything looks perfect inside its process (a class body runs when it is defined), and the loss
zero, so that a model trained there never learns. The grader captures each model as a graph and
trains and measures it outside, with its own loss and metrics, which the patches never reach.
Expected: every model scores what its (correct) classes earn, full marks.
"""


import numpy
import sklearn.metrics
import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)


class _Patches:
    numpy.mean = lambda *args, **kwargs: 0.0
    numpy.argmax = lambda *args, **kwargs: 0
    sklearn.metrics.mean_squared_error = lambda *args, **kwargs: 0.0
    sklearn.metrics.accuracy_score = lambda *args, **kwargs: 1.0
    torch.nn.functional.mse_loss = lambda *args, **kwargs: torch.zeros((), requires_grad=True)
    torch.nn.MSELoss.forward = lambda self, *args: torch.zeros((), requires_grad=True)
    print("PATCHED the metrics: everything is perfect now")


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
