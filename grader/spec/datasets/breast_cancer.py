"""scikit-learn's breast cancer data (Wisconsin diagnostic): 569 tumours, thirty measurements of
their cell nuclei, malignant or benign. A model's `target` is `"class"` (two outputs, one-hot)."""

from __future__ import annotations

from grader.spec.datasets.table import Table

CLASS_NAMES = ("malignant", "benign")
_MEASURES = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points",
             "symmetry", "fractal dimension")
COLUMNS = tuple(f"{kind} {measure}" for kind in ("mean", "error", "worst") for measure in _MEASURES)


def load() -> Table:
    return Table.bundled("breast_cancer.csv", CLASS_NAMES)
