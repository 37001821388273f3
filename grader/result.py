"""The result JSON: the contract every output (table, report, CSV, LMS export) is built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from grader.checks import CheckResult


class SubmissionInfo(BaseModel):
    student_id: str
    file: str
    sha256: str | None = None


class Incident(BaseModel):
    kind: Literal["timeout", "memory", "cpu_time", "processes", "output_truncated", "exited", "not_isolated",
                  "malformed_observations", "grader_fault"]
    message: str


class Skip(BaseModel):
    cell: int
    line: int
    text: str


class Result(BaseModel):
    assignment: str
    grader_version: str
    spec_sha256: str
    submission: SubmissionInfo
    status: Literal["graded", "invalid", "error"]
    lang: Literal["ja", "en"]
    mode: Literal["definitions", "full"]
    score: float
    max_score: float
    checks: list[CheckResult] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    incidents: list[Incident] = Field(default_factory=list)
    message: str | None = None  # why an invalid submission could not be graded
    notes: list[str] = Field(default_factory=list)
    skipped: list[Skip] = Field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    seeds: list[int] = Field(default_factory=list)
    graded_at: str = ""
    training_s: float = 0.0  # of duration_s, the time the grader's own training took in the sandbox
    duration_s: float = 0.0

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)
