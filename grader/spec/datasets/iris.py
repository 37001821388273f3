"""The Iris data set, as the lesson uses it: 150 flowers, four measurements, three species.

A model's `target` is either `"species"` (one output per species, one-hot) or measurements by
column; its inputs are the measurement columns in `features`. The spec's `train_rows` and
`test_rows` (odd or even row numbers) split the rows, as the lesson does; a `[dataset.validation]`
holds some training rows out for self-checks, stratified by species.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.spec.datasets.registry import Split
from grader.spec.schema import Assignment, Dataset, ModelSpec, Validation

# The order of the labels in the table's last column, as its header says.
CLASS_NAMES = ("setosa", "versicolor", "virginica")
# The measurements, in the table's order: what `features` and a measurement `target` index.
COLUMNS = ("sepal length", "sepal width", "petal length", "petal width")


@dataclass(frozen=True)
class IrisTable:
    features: np.ndarray  # (150, 4) float32
    species: np.ndarray  # (150,) int64, an index into CLASS_NAMES

    @classmethod
    def load(cls) -> IrisTable:
        """The Iris table that ships inside scikit-learn (no download).

        Read straight from its CSV: importing `sklearn.datasets` costs about a second per process.
        """
        spec = importlib.util.find_spec("sklearn")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("scikit-learn is not installed: it ships the Iris data")
        csv_path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "iris.csv"
        # The first line is a header: "150,4,setosa,versicolor,virginica".
        with csv_path.open(encoding="utf-8") as file:
            header = file.readline().strip().split(",")
        if tuple(header[2:]) != CLASS_NAMES:
            raise RuntimeError(f"{csv_path}: the species are {header[2:]}, not {list(CLASS_NAMES)}")
        table = np.loadtxt(csv_path, delimiter=",", skiprows=1)
        return cls(features=table[:, :4].astype(np.float32), species=table[:, 4].astype(np.int64))

    def split_for(self, model: ModelSpec, dataset: Dataset) -> Split:
        index = np.arange(len(self.species))
        train = index % 2 == (1 if dataset.train_rows == "odd" else 0)
        test = index % 2 == (1 if dataset.test_rows == "odd" else 0)
        if dataset.validation is not None and dataset.scored_on == "validation":
            held = self.held_out(train, dataset.validation)
            train, test = train & ~held, held
        x = self.features[:, model.features]
        if model.target == "species":
            y = np.eye(len(CLASS_NAMES), dtype=np.float32)[self.species]
        else:
            y = self.features[:, model.target]
        return Split(train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test],
                     test_classes=self.species[test], class_names=CLASS_NAMES)


    def held_out(self, train: np.ndarray, validation: Validation) -> np.ndarray:
        """The validation rows: `fraction` of each species' training rows, drawn under `seed`."""
        generator = np.random.default_rng(validation.seed)
        held = np.zeros(len(self.species), dtype=bool)
        for species in range(len(CLASS_NAMES)):
            rows = np.flatnonzero(train & (self.species == species))
            held[generator.permutation(rows)[:round(len(rows) * validation.fraction)]] = True
        return held


def splits(spec: Assignment) -> dict[str, Split]:
    table = IrisTable.load()
    return {model.id: table.split_for(model, spec.dataset) for model in spec.models}
