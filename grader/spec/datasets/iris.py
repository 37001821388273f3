"""The assignment's data, split into what the sandbox may see and what it may not.

Training inputs and targets and the test *inputs* go to the harness; test targets stay here, on the
trusted side, and every metric is computed from them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.spec.schema import Dataset, ModelSpec

N_SPECIES = 3


@dataclass(frozen=True)
class Split:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray  # never leaves the trusted side
    test_species: np.ndarray  # species of each test row, for plots and accuracy


@dataclass(frozen=True)
class IrisTable:
    features: np.ndarray  # (150, 4) float32
    species: np.ndarray  # (150,) int64

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
        table = np.loadtxt(csv_path, delimiter=",", skiprows=1)
        return cls(features=table[:, :4].astype(np.float32), species=table[:, 4].astype(np.int64))

    def split_for(self, model: ModelSpec, dataset: Dataset) -> Split:
        index = np.arange(len(self.species))
        train = index % 2 == (1 if dataset.train_rows == "odd" else 0)
        test = index % 2 == (1 if dataset.test_rows == "odd" else 0)
        x = self.features[:, model.features]
        if model.target == "species":
            y = np.eye(N_SPECIES, dtype=np.float32)[self.species]
        else:
            y = self.features[:, model.target]
        return Split(
            train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test], test_species=self.species[test]
        )
