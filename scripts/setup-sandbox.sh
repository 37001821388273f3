#!/bin/sh
# Install what the grader's sandbox needs from the system. Idempotent: run it as often as you like.
#
#   as root (a grading server, CI):  bubblewrap, uidmap, libseccomp2, util-linux (setpriv, prlimit),
#                                    and the unprivileged user `grader-sandbox`;
#   as anyone else (a laptop):       nothing; system packages are skipped with a note, and
#                                    `grader doctor` says what isolation the machine gives.
#
# The sandbox's Python dependency, pyseccomp (the seccomp filter, over libseccomp2), is the package's
# extra `sandbox`: `pip install 'torch-grader[sandbox]'` (the Makefile's venv installs it). This script
# only says whether VENV has it.
#
# Usage: scripts/setup-sandbox.sh [VENV]     (VENV defaults to .venv beside this script's repo)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-${VENV:-$ROOT/.venv}}
SANDBOX_USER=${GRADER_SANDBOX_USER:-grader-sandbox}

say() { echo "setup-sandbox: $*"; }

if [ "$(id -u)" = 0 ]; then
    missing=""
    command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
    command -v newuidmap >/dev/null 2>&1 || missing="$missing uidmap"
    command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
    command -v prlimit >/dev/null 2>&1 || missing="$missing util-linux"
    [ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ] || [ -e /usr/lib/aarch64-linux-gnu/libseccomp.so.2 ] \
        || ldconfig -p 2>/dev/null | grep -q 'libseccomp.so.2' || missing="$missing libseccomp2"
    if [ -n "$missing" ]; then
        if command -v apt-get >/dev/null 2>&1; then
            say "installing:$missing"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
        else
            say "no apt-get here; install these yourself:$missing"
        fi
    else
        say "system packages present (bubblewrap, uidmap, util-linux, libseccomp2)"
    fi
    if getent passwd "$SANDBOX_USER" >/dev/null 2>&1; then
        say "user $SANDBOX_USER exists (uid $(id -u "$SANDBOX_USER"))"
    else
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "grader sandbox (untrusted student code)" "$SANDBOX_USER"
        say "created user $SANDBOX_USER (uid $(id -u "$SANDBOX_USER"))"
    fi
else
    say "not root: skipping system packages and the sandbox user."
    say "grading still works; run 'grader doctor' to see which isolation this machine gives."
fi

if [ -x "$VENV/bin/python" ]; then
    if "$VENV/bin/python" -c "import pyseccomp" >/dev/null 2>&1; then
        say "pyseccomp present in $VENV"
    else
        say "no pyseccomp in $VENV: the sandbox runs without a seccomp filter (grader doctor says so);"
        say "install the grader with its extra: $VENV/bin/pip install '.[sandbox]'"
    fi
else
    say "no virtualenv at $VENV; not looking for pyseccomp"
fi
