"""The Iris data set, as the lesson uses it: 150 flowers, four measurements, three species.

A model's `target` is either `"species"` (or `"class"`: one output per species, one-hot) or
measurements by column; its inputs are the measurement columns in `features`. The spec's
`train_rows` and `test_rows` (odd or even row numbers) split the rows, as the lesson does; a
`[dataset.validation]` holds some training rows out for self-checks, stratified by species.
"""

from __future__ import annotations

from grader.spec.datasets.table import Table

# The order of the labels in the table's last column, as its header says.
CLASS_NAMES = ("setosa", "versicolor", "virginica")
# The measurements, in the table's order: what `features` and a measurement `target` index.
COLUMNS = ("sepal length", "sepal width", "petal length", "petal width")


def load() -> Table:
    return Table.bundled("iris.csv", CLASS_NAMES)
