"""Hostile: when MLR is first built, looks for what an earlier run (tests/hostile/ipc_leave.py) may
have left: every SysV segment, queue and semaphore set it can see (/proc/sysvipc), the earlier
run's keys (shmget, msgget and a message waiting in the queue), its POSIX message queue, the files
in /dev/shm and /dev/mqueue; and prints its own capability sets (the Cap lines of /proc/self/status).
Expected: it prints no FOUND line, warm or cold; its capability sets are all empty, the same in
both; all five models keep full marks.
"""


import ctypes
import os

import torch

SHM_KEYS = (0x47524431, 0x47524432, 0x47524433)
MSG_KEY = 0x4752444D
POSIX_QUEUE = b"/grader-left"
IPC_NOWAIT = 0o4000
_LOOKED = []


def look_for_leftovers():
    libc = ctypes.CDLL(None, use_errno=True)
    for table in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{table}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError as exc:
            print("UNREADABLE", table, exc)
            continue
        for row in rows:
            print("FOUND sysvipc", table, " ".join(row.split()))
        print("LOOKED sysvipc", table, len(rows))
    for key in SHM_KEYS:
        segment = libc.shmget(key, 0, 0)
        print(f"FOUND shm key {key:#x}" if segment >= 0 else f"NO shm key {key:#x} {os.strerror(ctypes.get_errno())}")
    queue = libc.msgget(MSG_KEY, 0)
    if queue >= 0:
        print("FOUND msg queue", hex(MSG_KEY))
        body = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 256)
        got = libc.msgrcv(queue, body, 256, 0, IPC_NOWAIT)
        if got >= 0:
            print("FOUND message", body.raw[ctypes.sizeof(ctypes.c_long):ctypes.sizeof(ctypes.c_long) + got])
    else:
        print("NO msg queue", os.strerror(ctypes.get_errno()))
    posix = libc.mq_open(POSIX_QUEUE, os.O_RDONLY | os.O_NONBLOCK, 0, None)
    print("FOUND posix queue" if posix >= 0 else f"NO posix queue {os.strerror(ctypes.get_errno())}")
    for folder in ("/dev/shm", "/dev/mqueue"):
        try:
            entries = sorted(os.listdir(folder))
        except OSError as exc:
            print("NOT LISTED", folder, exc.strerror)
            continue
        for entry in entries:
            print("FOUND", f"{folder}/{entry}")
        print("LOOKED", folder, len(entries))
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("Cap"):
                print("CAPS", " ".join(line.split()))


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        if not _LOOKED:
            _LOOKED.append(True)
            look_for_leftovers()

    def forward(self, x):
        return self.l1(x)


class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return torch.sigmoid(self.l1(x))


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
