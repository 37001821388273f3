"""A student's digits_cnn: the right layers, but eight channels written into __init__ instead of
taken from n_channels."""

import torch
import torch.nn as nn


class CNN(nn.Module):
    def __init__(self, n_channels=8):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.head = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.head(x.view(x.size(0), -1))
