"""scikit-learn's diabetes data: 442 patients, ten baseline measurements (as measured, not
scikit-learn's scaled copy) and, as column 10, a measure of the disease's progression one year
later: a regression data set (`features = [0, 1, ..., 9]`, `target = [10]`; `preprocess =
"standardize"` suits the measurements' scales). It has no classes."""

from __future__ import annotations

import numpy as np

from grader.spec.datasets.table import Table, bundled_file

CLASS_NAMES: tuple[str, ...] = ()
COLUMNS = ("age", "sex", "bmi", "blood pressure", "s1 total cholesterol", "s2 LDL", "s3 HDL",
           "s4 cholesterol / HDL", "s5 triglycerides (log)", "s6 blood sugar", "progression")


def load() -> Table:
    features = np.loadtxt(bundled_file("diabetes_data_raw.csv.gz"))
    progression = np.loadtxt(bundled_file("diabetes_target.csv.gz"))
    table = np.column_stack([features, progression]).astype(np.float32)
    return Table(table, np.zeros(len(table), dtype=np.int64), CLASS_NAMES)
