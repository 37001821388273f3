"""Hostile: when MLR is first built, leaves inter-process objects behind for whoever runs next: SysV
shared-memory segments (one of 1.5 GB, the largest the kernel lets it claim, and 256 MB actually
written, as much as the hostile spec's 768 MB limit leaves room for), a SysV message queue holding a
message, a POSIX message queue holding one, and a file in /dev/shm; it never removes them.
Expected: each is refused or dies with the run (its own IPC namespace, its own /dev/shm), so
tests/hostile/ipc_find.py run next, warm or cold, finds nothing, and the host's /proc/sysvipc and
/dev/shm are unchanged; all five models keep full marks.
"""


import ctypes
import os

import torch

SHM_KEYS = (0x47524431, 0x47524432, 0x47524433)
MSG_KEY = 0x4752444D
POSIX_QUEUE = b"/grader-left"
MESSAGE = b"LEFT FOR THE NEXT RUN"
IPC_CREAT = 0o1000
MB = 1024 * 1024
_LEFT = []


def leave_everything():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    libc.shmget.argtypes = (ctypes.c_int, ctypes.c_size_t, ctypes.c_int)
    for size in (1536 * MB, 1024 * MB, 512 * MB):
        segment = libc.shmget(SHM_KEYS[0], size, IPC_CREAT | 0o666)
        print("SHMGET", size // MB, "MB", "made" if segment >= 0 else f"refused {os.strerror(ctypes.get_errno())}")
        if segment >= 0:
            break
    for key in SHM_KEYS[1:]:
        segment = libc.shmget(key, 128 * MB, IPC_CREAT | 0o666)
        if segment < 0:
            print("SHMGET 128 MB refused", os.strerror(ctypes.get_errno()))
            continue
        address = libc.shmat(segment, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            print("SHMAT refused", os.strerror(ctypes.get_errno()))
            continue
        ctypes.memset(address, 0x5A, 128 * MB)  # written: the pages are pinned until the segment goes
        libc.shmdt(ctypes.c_void_p(address))
        print("SHM WRITTEN 128 MB key", hex(key))
    queue = libc.msgget(MSG_KEY, IPC_CREAT | 0o666)
    if queue < 0:
        print("MSGGET refused", os.strerror(ctypes.get_errno()))
    else:
        body = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + len(MESSAGE))
        ctypes.c_long.from_buffer(body).value = 1
        ctypes.memmove(ctypes.addressof(body) + ctypes.sizeof(ctypes.c_long), MESSAGE, len(MESSAGE))
        sent = libc.msgsnd(queue, body, len(MESSAGE), 0)
        print("MSGSND", "sent" if sent == 0 else f"refused {os.strerror(ctypes.get_errno())}")
    posix = libc.mq_open(POSIX_QUEUE, os.O_CREAT | os.O_WRONLY, 0o666, None)
    if posix < 0:
        print("MQ_OPEN refused", os.strerror(ctypes.get_errno()))
    else:
        sent = libc.mq_send(posix, MESSAGE, len(MESSAGE), 0)
        print("MQ_SEND", "sent" if sent == 0 else f"refused {os.strerror(ctypes.get_errno())}")
    try:
        with open("/dev/shm/grader-left", "wb") as handle:
            handle.write(MESSAGE)
        print("DEV SHM written")
    except OSError as exc:
        print("DEV SHM refused", exc)


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        if not _LEFT:
            _LEFT.append(True)
            leave_everything()

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
