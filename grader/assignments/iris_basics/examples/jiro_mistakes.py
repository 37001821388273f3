"""例: よくある間違いを含む提出 (出力を潰す、隠れ層の大きさを固定、出力のシグモイド忘れ、detach)."""
import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x).squeeze()  # (N, 1) ではなく (N,) になってしまう


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)  # シグモイドを忘れている


class MLPR(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, 3)  # n_hidden を使っていない
        self.l2 = torch.nn.Linear(3, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


class MLPC(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        h = torch.sigmoid(self.l1(x)).detach()  # 勾配が l1 に届かない
        return torch.sigmoid(self.l2(h))
