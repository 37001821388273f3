"""Reference solution of wine_mlp: softmax regression and a one-hidden-layer MLP on the wine data."""

import torch
import torch.nn as nn


class SoftmaxRegression(nn.Module):
    """One linear layer from the 13 measurements to the three cultivars' logits."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.linear(x)


class MLP(nn.Module):
    """A hidden layer of n_hidden ReLU units, then the three logits."""

    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.hidden = nn.Linear(n_input, n_hidden)
        self.output = nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
