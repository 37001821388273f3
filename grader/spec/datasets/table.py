"""A table of numeric features and class labels, as scikit-learn ships its small data sets (no
download), and the one way every such data set is split for a model.

scikit-learn's CSVs (`iris.csv`, `wine_data.csv`, `breast_cancer.csv`) begin with a header line
`ROWS,FEATURES,CLASS_0,CLASS_1,...`; each row is the features, then the label. They are read
straight from the file: importing `sklearn.datasets` costs about a second per process.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.spec.datasets.registry import Split
from grader.spec.schema import Dataset, ModelSpec


def bundled_file(file_name: str) -> Path:
    """The path of one of scikit-learn's bundled data files."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"scikit-learn is not installed: it ships {file_name}")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / file_name


@dataclass(frozen=True)
class Table:
    features: np.ndarray  # (rows, columns) float32
    labels: np.ndarray  # (rows,) int64, an index into class_names
    class_names: tuple[str, ...]
    # Targets apart from the features (generated data's `y`): a model's `target` columns index
    # these where there are some, else the features (the lesson predicts one Iris column from others).
    values: np.ndarray | None = None
    # A CSV's: the names of its feature columns, its split column's value on each row (split =
    # "column"), and its 0/1 columns of categories, which no scaling touches.
    columns: tuple[str, ...] = ()
    groups: np.ndarray | None = None
    indicators: frozenset[int] = frozenset()
    # The rows an index file lists (split = "index_files"): training and test masks.
    listed_rows: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def bundled(cls, file_name: str, class_names: tuple[str, ...]) -> Table:
        """The scikit-learn CSV `file_name`, whose header must name `class_names` (in label order)."""
        path = bundled_file(file_name)
        with path.open(encoding="utf-8") as file:
            header = file.readline().strip().split(",")
        if tuple(header[2:]) != class_names:
            raise RuntimeError(f"{path}: the classes are {header[2:]}, not {list(class_names)}")
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        width = int(header[1])
        return cls(table[:, :width].astype(np.float32), table[:, width].astype(np.int64), class_names)

    def split_for(self, model: ModelSpec, dataset: Dataset) -> Split:
        """The model's rows: odd or even row numbers as the spec says (the validation rows instead
        of the test rows where it scores on those), its feature columns (standardised with the
        training rows' mean and spread where the spec says so), its target."""
        train, test = self.rows(dataset)
        if dataset.validation is not None and dataset.scored_on == "validation":
            held = self.held_out(train, dataset.validation.fraction, dataset.validation.seed)
            train, test = train & ~held, held
        x = self.features[:, model.features]
        # Fitted on the training rows alone: the test rows' statistics never shape the inputs.
        scaled = [i for i, column in enumerate(model.features) if column not in self.indicators]
        if dataset.preprocess != "none":
            fitted = x[train][:, scaled]
            if dataset.preprocess == "standardize":
                shift, scale = fitted.mean(axis=0), fitted.std(axis=0)
            else:  # minmax
                shift, scale = fitted.min(axis=0), np.ptp(fitted, axis=0)
            x[:, scaled] = (x[:, scaled] - shift) / np.where(scale > 0, scale, 1)
        x = x.reshape(len(x), *model.row_shape)
        if isinstance(model.target, list):
            y = (self.values if self.values is not None else self.features)[:, model.target]
        elif model.target == "class_index":  # one output deciding between two classes
            y = self.labels.astype(np.float32).reshape(-1, 1)
        else:  # one-hot
            y = np.eye(len(self.class_names), dtype=np.float32)[self.labels]
        return Split(train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test],
                     test_classes=self.labels[test], class_names=self.class_names, indices=model.inputs == "indices")

    def rows(self, dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Which rows train and which test (two boolean masks that never overlap), as the spec's `split` says."""
        if dataset.split == "parity":
            index = np.arange(len(self.labels))
            return (index % 2 == (1 if dataset.train_rows == "odd" else 0),
                    index % 2 == (1 if dataset.test_rows == "odd" else 0))
        if dataset.split == "column":
            if self.groups is None:
                raise ValueError("a column split needs the split column's values (a CSV's split_column)")
            test = np.isin(self.groups, dataset.test_values)
            return (np.isin(self.groups, dataset.train_values) if dataset.train_values else ~test), test
        if dataset.split == "index_files":
            if self.listed_rows is None:
                raise ValueError("an index_files split needs the rows its files list")
            return self.listed_rows
        everything = np.ones(len(self.labels), dtype=bool)
        if dataset.split == "stratified":
            test = self.held_out(everything, dataset.test_fraction, dataset.seed)
        else:
            test = np.zeros(len(self.labels), dtype=bool)
            order = np.random.default_rng(dataset.seed).permutation(len(self.labels))
            test[order[:round(len(order) * dataset.test_fraction)]] = True
        return ~test, test

    def held_out(self, among: np.ndarray, fraction: float, seed: int) -> np.ndarray:
        """`fraction` of each class's rows of `among`, drawn under `seed`."""
        generator = np.random.default_rng(seed)
        held = np.zeros(len(self.labels), dtype=bool)
        for label in np.unique(self.labels):  # generated values have one "class": all rows
            rows = np.flatnonzero(among & (self.labels == label))
            held[generator.permutation(rows)[:round(len(rows) * fraction)]] = True
        return held
