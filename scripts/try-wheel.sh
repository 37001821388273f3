#!/bin/sh
# A student's install, tried from outside the checkout: build the wheel from the working tree,
# install it with torch and the `sandbox` extra into a fresh virtualenv (none of .venv), and grade
# the reference solution with `grader check` from another folder, by the bundled assignment's name.
# It then asks `grader doctor` whether the seccomp filter is there. Takes a minute or more (torch's
# install), so it is not part of `make test`; tests/test_assignment_search.py tests the search path.
#
# Usage: scripts/try-wheel.sh [WORKDIR]     (a fresh temporary folder by default; kept afterwards)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/grader-wheel.XXXXXX")}
say() { echo "try-wheel: $*"; }

mkdir -p "$WORK/src" "$WORK/wheel" "$WORK/elsewhere"
# A copy of what git would ship (tracked and new files, nothing ignored): setuptools builds in the
# source folder, and a stale build/ there could put old files into the wheel.
"$PYTHON" - "$ROOT" "$WORK/src" <<'PY'
import shutil, subprocess, sys
from pathlib import Path
root, dest = Path(sys.argv[1]), Path(sys.argv[2])
listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                        capture_output=True, check=True).stdout.decode("utf-8").split("\0")
for name in filter(None, listed):
    if (root / name).is_file():  # a file deleted in the working tree is not shipped
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, dest / name)
PY
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0
"$WORK/venv/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$WORK/wheel" "$WORK/src"
WHEEL=$(ls "$WORK"/wheel/torch_grader-*.whl)
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "$WHEEL[sandbox]"
say "installed $(basename "$WHEEL") into $WORK/venv"

cd "$WORK/elsewhere"
"$WORK/venv/bin/grader" check "$ROOT/solutions/iris_basics/solution.py" --lang en --json result.json
"$WORK/venv/bin/python" - <<'PY'
import json
result = json.load(open("result.json", encoding="utf-8"))
assert result["assignment"] == "iris_basics" and result["status"] == "graded", result.get("message")
assert result["score"] == result["max_score"] == 25.0, result["score"]
print("try-wheel: graded", result["submission"]["file"], f"{result['score']:g} / {result['max_score']:g}")
PY
"$WORK/venv/bin/grader" doctor --json > doctor.json
"$WORK/venv/bin/python" -c "
import json; seccomp = json.load(open('doctor.json'))['seccomp']
print('try-wheel: grader doctor: seccomp:', seccomp)
assert seccomp.startswith('available'), seccomp"
