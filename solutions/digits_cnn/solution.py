"""Reference solution of digits_cnn: a small CNN on scikit-learn's 8×8 digits."""

import torch
import torch.nn as nn


class CNN(nn.Module):
    """One convolution block (n_channels filters of 3×3, padding 1, ReLU), 2×2 max pooling and a
    linear head of ten logits."""

    def __init__(self, n_channels=8):
        super().__init__()
        self.conv = nn.Conv2d(1, n_channels, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(n_channels * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))  # (N, n_channels, 4, 4)
        return self.head(x.flatten(1))
