"""scikit-learn's wine data: 178 wines of three cultivars, thirteen chemical measurements (on very
different scales: `preprocess = "standardize"` suits it). A model's `target` is `"class"`."""

from __future__ import annotations

from grader.spec.datasets.table import Table

CLASS_NAMES = ("class_0", "class_1", "class_2")
COLUMNS = ("alcohol", "malic acid", "ash", "alcalinity of ash", "magnesium", "total phenols", "flavanoids",
           "nonflavanoid phenols", "proanthocyanins", "color intensity", "hue", "od280/od315 of diluted wines",
           "proline")


def load() -> Table:
    return Table.bundled("wine_data.csv", CLASS_NAMES)
