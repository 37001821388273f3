"""A student's digits_cnn: an MLP on the flattened pixels, no convolution at all (it scores well on
the digits; the structure check says what is missing)."""

import torch.nn as nn


class CNN(nn.Module):
    def __init__(self, n_channels=8):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(64, n_channels * 4), nn.ReLU(),
                                    nn.Linear(n_channels * 4, 10))

    def forward(self, x):
        return self.layers(x)
