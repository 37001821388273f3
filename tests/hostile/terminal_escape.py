"""Hostile: its LR raises an exception whose message holds terminal escape sequences (clear the
screen, move the cursor home, an OSC-8 link, a window title), raw C1 controls and rich markup that
would print a fake green verdict, plus `[/]`, which rich rejects as markup. Its class name in the
exception text and its printed output do the same. Expected: the instructor's terminal gets plain
text (no escape sequence of the student's, no style of the student's), `grader check` writes its
JSON and report, and every other model is graded as usual. A top-level statement raises with the same
text (the summary lists the errors of statements that ran).
"""

import torch

ESC = "\x1b"
HOSTILE_TEXT = (
    f"{ESC}[2J{ESC}[H{ESC}]8;;http://attacker.example/{ESC}\\click me{ESC}]8;;{ESC}\\"
    f"{ESC}]0;owned\x07\x9b31m\x9d0;c1 title\x9c{ESC}P1$qm{ESC}\\{ESC}c"
    "[/] [bold green]ALL CHECKS PASSED 25 / 25[/] [link=http://attacker.example/]x[/link]\r\n"
    "line two\tafter a tab\x08\x07\x00"
)

SETTING = int(HOSTILE_TEXT)


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        print(HOSTILE_TEXT)
        raise RuntimeError(HOSTILE_TEXT)

    def forward(self, x):
        return x


class MLPR(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


class MLPC(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return torch.sigmoid(self.l2(torch.sigmoid(self.l1(x))))


class AE(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(self.project(x))

    def project(self, x):
        return torch.sigmoid(self.l1(x))
