"""Reference solution of sine_lstm: an LSTM and a linear head that predict a sine wave's next value."""

import torch.nn as nn


class SineLSTM(nn.Module):
    """An LSTM over the sequence (batch, steps, 1), then a linear layer from its last step's output."""

    def __init__(self, n_hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=n_hidden, batch_first=True)
        self.head = nn.Linear(n_hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)  # (batch, steps, n_hidden)
        return self.head(out[:, -1, :])
