"""scikit-learn's handwritten digits: 1,797 images of 8×8 pixels (values 0 to 16), ten classes.
A model reads the 64 pixels (`features = "all"`), as an image with `input_shape = [1, 8, 8]`;
its `target` is `"class"`."""

from __future__ import annotations

import numpy as np

from grader.spec.datasets.table import Table, bundled_file

CLASS_NAMES = tuple(str(digit) for digit in range(10))
COLUMNS = tuple(f"pixel_{row}_{column}" for row in range(8) for column in range(8))


def load() -> Table:
    # No header line: 64 pixels, then the digit.
    table = np.loadtxt(bundled_file("digits.csv.gz"), delimiter=",")
    return Table(table[:, :64].astype(np.float32), table[:, 64].astype(np.int64), CLASS_NAMES)
