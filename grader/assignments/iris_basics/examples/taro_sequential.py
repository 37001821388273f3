# -*- coding: utf-8 -*-
"""例: nn.Sequential と nn.Sigmoid で書いた正解 (オートエンコーダーは AutoEncoder という名前)."""
import torch
from torch import nn


class MLR(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.linear(x)


class LR(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_input, n_output), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class MLPR(nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_input, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, n_output))

    def forward(self, x):
        return self.net(x)


class MLPC(nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_input, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, n_output), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_input, n_hidden), nn.Sigmoid())
        self.decoder = nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def project(self, x):
        return self.encoder(x)
