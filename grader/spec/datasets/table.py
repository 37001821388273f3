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
from grader.spec.schema import Dataset, ModelSpec, Validation


@dataclass(frozen=True)
class Table:
    features: np.ndarray  # (rows, columns) float32
    labels: np.ndarray  # (rows,) int64, an index into class_names
    class_names: tuple[str, ...]

    @classmethod
    def bundled(cls, file_name: str, class_names: tuple[str, ...]) -> Table:
        """The scikit-learn CSV `file_name`, whose header must name `class_names` (in label order)."""
        spec = importlib.util.find_spec("sklearn")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"scikit-learn is not installed: it ships {file_name}")
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / file_name
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
        index = np.arange(len(self.labels))
        train = index % 2 == (1 if dataset.train_rows == "odd" else 0)
        test = index % 2 == (1 if dataset.test_rows == "odd" else 0)
        if dataset.validation is not None and dataset.scored_on == "validation":
            held = self.held_out(train, dataset.validation)
            train, test = train & ~held, held
        x = self.features[:, model.features]
        if dataset.preprocess == "standardize":
            # Fitted on the training rows alone: the test rows' statistics never shape the inputs.
            mean, spread = x[train].mean(axis=0), x[train].std(axis=0)
            x = ((x - mean) / np.where(spread > 0, spread, 1)).astype(np.float32)
        if isinstance(model.target, list):
            y = self.features[:, model.target]
        else:  # one of CLASS_TARGETS
            y = np.eye(len(self.class_names), dtype=np.float32)[self.labels]
        return Split(train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test],
                     test_classes=self.labels[test], class_names=self.class_names)

    def held_out(self, train: np.ndarray, validation: Validation) -> np.ndarray:
        """The validation rows: `fraction` of each class's training rows, drawn under `seed`."""
        generator = np.random.default_rng(validation.seed)
        held = np.zeros(len(self.labels), dtype=bool)
        for label in range(len(self.class_names)):
            rows = np.flatnonzero(train & (self.labels == label))
            held[generator.permutation(rows)[:round(len(rows) * validation.fraction)]] = True
        return held
