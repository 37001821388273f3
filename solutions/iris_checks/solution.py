"""The reference solution of iris_checks: two hidden layers with dropout between them, and the
sepal width (column 1) masked out before the first layer."""

import torch
import torch.nn as nn


class MLPC(nn.Module):
    def __init__(self, n_input, n_hidden, n_hidden2, n_output):
        super().__init__()
        self.register_buffer("mask", torch.tensor([1.0, 0.0, 1.0, 1.0]))
        self.l1 = nn.Linear(n_input, n_hidden)
        self.drop = nn.Dropout(0.1)
        self.l2 = nn.Linear(n_hidden, n_hidden2)
        self.l3 = nn.Linear(n_hidden2, n_output)

    def forward(self, x):
        h = torch.relu(self.l1(x * self.mask))
        h = self.drop(h)
        h = torch.relu(self.l2(h))
        return self.l3(h)
