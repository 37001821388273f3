"""sine_lstm's data: noisy sine waves of random frequency and phase, cut into sequences whose next
value a model predicts. Trusted code (the instructor's, like checks.py); the grader calls it with a
numpy generator seeded by the spec's `[dataset] seed` and `[dataset.options]` as keyword arguments."""

import numpy as np


def sine_waves(rng, n=600, length=20, noise=0.05):
    """`n` sequences of `length` steps of one value (`x`: (n, length, 1)) and each one's next value
    (`y`: (n, 1)): sin(frequency * t + phase), frequencies from 0.1 to 0.4 radians per step."""
    frequency = rng.uniform(0.1, 0.4, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    steps = np.arange(length + 1)[None, :]
    waves = np.sin(frequency * steps + phase) + rng.normal(0.0, noise, size=(n, length + 1))
    return {"x": waves[:, :length, None], "y": waves[:, length:]}
