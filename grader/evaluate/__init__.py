"""Trusted evaluation: run a submission's harness in the sandbox and validate what comes back.

    execute.py       the job, the sandboxed runs (warm or cold), per-phase budgets, restarts
    observations.py  the run's JSON lines -> strictly validated, size-bounded observations
"""
