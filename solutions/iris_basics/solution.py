"""アヤメのデータで学ぶ PyTorch の基本: 5 つのモデルの模範解答.

レッスン (lesson-ja.txt) で定義したモデルを、学習コードを含まないモジュールとしてまとめたものです。

- ``MLR``  : 線形重回帰 (線形層 1 つ)
- ``LR``   : ロジスティック回帰 (線形層 → シグモイド関数)
- ``MLPR`` : 多層パーセプトロンによる回帰 (線形層 → シグモイド関数 → 線形層)
- ``MLPC`` : 多層パーセプトロンによる分類 (線形層 → シグモイド関数 → 線形層 → シグモイド関数)
- ``AE``   : オートエンコーダー (線形層 → シグモイド関数 → 線形層, ``project`` で中間層の値を返す)
"""

import torch


class MLR(torch.nn.Module):
    """線形重回帰 Multiple Linear Regression: y = Wx + b."""

    def __init__(self, n_input, n_output):
        super(MLR, self).__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)


class LR(torch.nn.Module):
    """ロジスティック回帰 Logistic Regression: 線形層の出力をシグモイド関数に通します."""

    def __init__(self, n_input, n_output):
        super(LR, self).__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        h1 = self.l1(x)
        h2 = torch.sigmoid(h1)
        return h2


class MLPR(torch.nn.Module):
    """多層パーセプトロンによる回帰: 線形層 → シグモイド関数 → 線形層."""

    def __init__(self, n_input, n_hidden, n_output):
        super(MLPR, self).__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        h1 = self.l1(x)
        h2 = torch.sigmoid(h1)
        h3 = self.l2(h2)
        return h3


class MLPC(torch.nn.Module):
    """多層パーセプトロンによる分類: 線形層 → シグモイド関数 → 線形層 → シグモイド関数."""

    def __init__(self, n_input, n_hidden, n_output):
        super(MLPC, self).__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        h1 = self.l1(x)
        h2 = torch.sigmoid(h1)
        h3 = self.l2(h2)
        h4 = torch.sigmoid(h3)
        return h4


class AE(torch.nn.Module):
    """オートエンコーダー AutoEncoder: 自分自身に回帰するニューラルネットワーク.

    エンコーダー (線形層 → シグモイド関数) で中間層に投影し、デコーダー (線形層) で入力を再構成します。
    中間層のニューロン数を入力より少なくすると次元縮約 (次元削減) になります。
    """

    def __init__(self, n_input, n_hidden, n_output):
        super(AE, self).__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        h1 = self.l1(x)
        h2 = torch.sigmoid(h1)
        h3 = self.l2(h2)
        return h3

    def project(self, x):
        """中間層に投影した値 (エンコーダーの出力) を返します."""
        h1 = self.l1(x)
        h2 = torch.sigmoid(h1)
        return h2


if __name__ == "__main__":
    # 学習はせず、各モデルの出力の形だけを確かめます。
    x3 = torch.zeros(5, 3)
    x4 = torch.zeros(5, 4)
    print("MLR ", tuple(MLR(3, 1)(x3).shape))
    print("LR  ", tuple(LR(4, 3)(x4).shape))
    print("MLPR", tuple(MLPR(3, 3, 1)(x3).shape))
    print("MLPC", tuple(MLPC(4, 3, 3)(x4).shape))
    ae = AE(4, 2, 4)
    print("AE  ", tuple(ae(x4).shape), "project", tuple(ae.project(x4).shape))
