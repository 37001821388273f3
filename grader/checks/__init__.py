"""Checks: observations of a model -> check results, metrics and points (labels stay on this side).

    models.py   each model's checks, in order, with their points
    metrics.py  MSE, accuracy, partial credit
    written.py  written answers: found and matched provisionally, scored by a person
"""
