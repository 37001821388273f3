"""`grader kit`: the template and a wheel of the public checks, installed offline, self-checked."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tomllib
import zipfile

from test_visibility import SECRET_TEXTS, SOLUTION, secret_assignment

from grader.apps.kit import write_kit
from grader.cli import main
from grader.pipeline import grade_file


def test_the_kit_holds_no_hidden_check_no_hidden_threshold_and_a_valid_record(tmp_path):
    kit = write_kit(secret_assignment(tmp_path / "tiny"), tmp_path / "kit")
    assert kit.wheel.name == "grader_kit_tiny-0.3.0-py3-none-any.whl"
    assert kit.withheld == ["check beats_linear (after_due_date)", "check secret_probe (hidden)",
                            "the thresholds of mlpc's test_accuracy (hidden)"]
    with zipfile.ZipFile(kit.wheel) as wheel:
        members = {name: wheel.read(name) for name in wheel.namelist()}
    everything = b"\n".join(members.values()).decode("utf-8")
    for secret in [*SECRET_TEXTS, "secret_probe", "beats_linear", "better_than_linear", "0.90", "0.60"]:
        assert secret not in everything, secret
    spec = tomllib.loads(members["grader_kit_tiny/tiny/assignment.toml"].decode("utf-8"))
    assert [check["id"] for check in spec["checks"]] == ["small_enough", "dropout_between_hidden", "ignores_sepal_width"]
    assert (spec["models"][0]["metric"]["full_credit"], spec["models"][0]["metric"]["zero_credit"]) == (1.0, 0.0)
    assert spec["dataset"]["scored_on"] == "validation"  # a kit's self-checks never score on the test rows
    record = members["grader_kit_tiny-0.3.0.dist-info/RECORD"].decode("ascii").splitlines()
    for line in record[:-1]:
        name, digest, size = line.split(",")
        data = members[name]
        assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert int(size) == len(data)
    assert "[grader.assignments]\ntiny = grader_kit_tiny" in members["grader_kit_tiny-0.3.0.dist-info/entry_points.txt"].decode()


def test_a_kit_installed_offline_self_checks_as_grader_check_shows_a_student(tmp_path, capsys):
    secret = secret_assignment(tmp_path / "tiny")
    assert main(["kit", "-a", str(secret.folder), "-o", str(tmp_path / "kit")]) == 0
    assert "left out: check secret_probe (hidden)" in capsys.readouterr().out
    target = tmp_path / "site"
    wheel = next((tmp_path / "kit").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=120)
    script = tmp_path / "student.py"
    script.write_text(SOLUTION.read_text(encoding="utf-8") + (
        "\nimport grader, json\n"
        "report = grader.check_all(lang='en')  # no assignment named: the one kit installed\n"
        "print('FOLDER ' + str(report.assignment.folder))\n"
        "print('VERDICTS ' + json.dumps({c.id: [c.status, c.score] for c in report.graded.result.checks}))\n"),
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("FOLDER", "VERDICTS")))
    assert lines["FOLDER"] == str(target / "grader_kit_tiny" / "tiny")
    public = secret.public()  # `grader check --public`: the validation rows
    students = grade_file(SOLUTION, public, lang="en").result.for_students(past_due=False)
    assert json.loads(lines["VERDICTS"]) == {c.id: [c.status, c.score] for c in students.checks}


def test_a_kit_of_an_assignment_without_secrets_has_its_template_and_leaves_nothing_out(tmp_path):
    from grader.pipeline import load_assignment

    lesson = load_assignment("iris_basics")
    kit = write_kit(lesson, tmp_path)
    assert kit.withheld == [] and kit.template == tmp_path / "assignment.ipynb"
    assert kit.template.read_bytes() == (lesson.folder / "assignment.ipynb").read_bytes()
    with zipfile.ZipFile(kit.wheel) as wheel:
        assert sorted(n for n in wheel.namelist() if n.startswith("grader_kit_iris_basics/")) == [
            "grader_kit_iris_basics/__init__.py", "grader_kit_iris_basics/iris_basics/assignment.toml",
            "grader_kit_iris_basics/iris_basics/messages.toml"]


def test_a_hidden_metric_of_any_kind_gets_placeholder_thresholds(tmp_path):
    from grader.pipeline import load_assignment

    secret = secret_assignment(tmp_path / "tiny")
    spec = secret.folder / "assignment.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace('name = "test_accuracy", kind = "accuracy"',
                                                             'name = "test_macro_f1", kind = "macro_f1"'), encoding="utf-8")
    kit = write_kit(load_assignment(str(secret.folder)), tmp_path / "kit")
    with zipfile.ZipFile(kit.wheel) as wheel:
        metric = tomllib.loads(wheel.read("grader_kit_tiny/tiny/assignment.toml").decode("utf-8"))["models"][0]["metric"]
    assert (metric["kind"], metric["full_credit"], metric["zero_credit"]) == ("macro_f1", 1.0, 0.0)
