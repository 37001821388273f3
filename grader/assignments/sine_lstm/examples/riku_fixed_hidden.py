"""A student's sine_lstm: the LSTM's hidden size is written into __init__ (32) instead of taken
from n_hidden."""

import torch.nn as nn


class SineLSTM(nn.Module):
    def __init__(self, n_hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(1, 32, batch_first=True)
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])
