"""The assignment spec (`assignment.toml`) as typed, validated objects: what a spec may say.

Loading and finding specs is `grader.spec.load`; this module only declares the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grader.spec.datasets.registry import FILE, GENERATED, MADE, class_names, columns
from grader.spec.datasets.registry import MODULES as DATASETS
from grader.spec.layer_pattern import Pattern

# `definitions`: the classes a submission defines, built and trained by the grader; `full`: the
# submission run top to bottom as a notebook.
Mode = Literal["definitions", "full"]

DEFAULT_MODEL_TIMEOUT_S = 15.0
DEFAULT_LOAD_TIMEOUT_S = 60.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recipe(_Strict):
    """How the grader trains a model: the same for every student."""

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(0.05, gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd's
    nesterov: bool = False  # sgd's, with a momentum
    weight_decay: float = Field(0.0, ge=0, le=1)
    epochs: int = Field(500, ge=1, le=100_000)
    batch_size: int = Field(75, ge=1)
    # grader.train.losses: mse and mae on values; cross_entropy (on logits), bce (on probabilities),
    # bce_with_logits and nll (on log-probabilities) need a class target.
    loss: Literal["mse", "mae", "cross_entropy", "bce", "bce_with_logits", "nll"] = "mse"
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1, max_length=20)
    aggregate: Literal["median", "best"] = "median"
    # Train the seeds of a model together: one loop steps every seed's instance, with one backward
    # pass and one optimizer step for all (grader/harness/training.py). The observations are those
    # of one seed at a time, to the last bit; a model whose seeds would share state (printing, a
    # class attribute, a global, a shared layer) is trained one seed at a time.
    train_seeds_together: bool = True
    # The learning rate over the epochs: constant, multiplied by `gamma` every `step_epochs`, or a
    # cosine from `lr` down to 0 at the last epoch.
    schedule: Literal["none", "step", "cosine"] = "none"
    step_epochs: int = Field(30, ge=1)
    gamma: float = Field(0.1, gt=0, le=1)
    # Before each step, each seed's gradients are scaled to a norm of at most this.
    clip_norm: float | None = Field(None, gt=0)
    # cross_entropy's and nll's weight of each class, in the order of the data set's classes.
    class_weights: list[Annotated[float, Field(gt=0)]] | None = Field(None, min_length=2, max_length=1000)
    # The initial values of a captured model's standard layers (Linear, Conv2d, ...): "grader" builds
    # them afresh under each seed with PyTorch's defaults (what `Class(*args)` after
    # `torch.manual_seed(seed)` gives for layers built in order), so that no initial value carries a
    # pretrained answer; "student" keeps the ones the student's constructor made (a lesson on
    # Xavier initialisation). Plain parameters always keep the student's.
    init: Literal["grader", "student"] = "grader"

    @model_validator(mode="after")
    def _momentum_is_sgds(self) -> Recipe:
        if self.optimizer != "sgd" and (self.momentum or self.nesterov):
            raise ValueError(f"momentum and nesterov are sgd's: {self.optimizer} has none")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum above 0")
        if self.class_weights is not None and self.loss not in ("cross_entropy", "nll"):
            raise ValueError(f"class_weights weigh cross_entropy or nll, not {self.loss}")
        return self


CheckName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
# A class target: one output per class of the data set, one-hot ("species" is Iris's word for it);
# or, for two classes, one output and each row's class index (0 or 1) as its target: `class_index`.
ONE_HOT_TARGETS = ("class", "species")
CLASS_INDEX = "class_index"
CLASS_TARGETS = (*ONE_HOT_TARGETS, CLASS_INDEX)
# The losses that read one output per class (a class index target has one output for two classes).
PER_CLASS_LOSSES = frozenset({"cross_entropy", "nll"})
# The metrics where lower is better, and those computed from predicted classes (grader.checks.metrics).
LOWER_IS_BETTER = frozenset({"mse", "mae"})
CLASS_METRICS = frozenset({"accuracy", "macro_f1"})
# The losses that read their target as classes (grader.train.losses).
CLASS_LOSSES = frozenset({"cross_entropy", "bce", "bce_with_logits", "nll"})
# Who sees a check's result: everyone; nobody but the instructors (graded all the same); students
# too once the assignment's `due` has passed.
Visibility = Literal["visible", "hidden", "after_due_date"]


class Texts(_Strict):
    """A text in both languages (a reader of the other would get nothing)."""

    ja: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)

    def get(self, lang: Literal["ja", "en"]) -> str:
        return self.ja if lang == "ja" else self.en


class InstructorCheck(_Strict):
    """A check the instructor wrote: `function` of the assignment's `checks.py` (trusted code, run
    on the trusted side with the model as data: grader.checks.api), graded for each of `models`.

    Its result's message is `message` (when it does not pass) or `passed` (when it does, default:
    the title), each filled with what the function returned (`{count}`); `hint` goes with a failure.
    """

    id: CheckName
    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    models: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(min_length=1)
    points: float = Field(1.0, ge=0, le=1000)
    title: Texts
    message: Texts
    passed: Texts | None = None
    hint: Texts | None = None
    visibility: Visibility = "visible"
    options: dict[str, Any] = Field(default_factory=dict)


# The layer kinds `structure.layers` may name (`linear` and the activations).
LayerKind = Literal["linear", "sigmoid", "relu", "tanh", "softmax"]
# What forward must return: the raw scores a cross-entropy takes, probabilities, log-probabilities,
# or values; by default what the model's loss takes (`OUTPUT_OF_LOSS`).
OutputKind = Literal["logits", "probabilities", "log_probabilities", "values"]
OUTPUT_OF_LOSS: dict[str, OutputKind] = {"cross_entropy": "logits", "bce_with_logits": "logits",
                                         "bce": "probabilities", "nll": "log_probabilities",
                                         "mse": "values", "mae": "values"}


class Structure(_Strict):
    """The forward pass, in one of two forms.

    `layers` (the lesson's form) lists `linear` and activation names in forward order; the i-th
    `linear` maps `args[i] -> args[i+1]` of the constructor arguments. `pattern` (any layer kind,
    grader.spec.layer_pattern) is a pattern over the layers found, which may name the constructor
    arguments (`conv2d(1,n_channels,k=3)`). `hidden_arg` is the constructor argument (its position,
    or its name where `args` names them) that sets a hidden size: the grader builds the class
    again with `probe_hidden` there and expects the layers to follow. `output`: what forward must
    return, for a pattern (default: what the loss takes).
    """

    layers: list[LayerKind] | None = Field(None, min_length=1)
    pattern: list[Annotated[str, Field(min_length=1, max_length=400)]] | None = Field(None, min_length=1, max_length=50)
    affine: bool = False
    hidden_arg: int | None = Field(None, ge=0)
    probe_hidden: int = Field(5, ge=1, le=64)
    output: OutputKind | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Structure:
        if (self.layers is None) == (self.pattern is None):
            raise ValueError("give the layers either as `layers` (linear and activations) or as a `pattern`")
        if self.pattern is not None:
            Pattern.parse(self.pattern)  # a PatternError is a ValueError: pydantic names the key
        if self.output is not None and self.pattern is None:
            raise ValueError("`output` goes with a `pattern`")
        return self

    def parsed(self) -> Pattern:
        if self.pattern is None:
            raise ValueError("no pattern")
        return Pattern.parse(self.pattern)


class Metric(_Strict):
    """A test-set metric with partial credit between two thresholds."""

    name: str = Field(pattern=r"^test_[a-z0-9_]+$")
    # grader.checks.metrics.KINDS: errors (lower is better) on values, or scores of the predicted
    # classes (higher is better); r2 is higher-is-better on values.
    kind: Literal["mse", "mae", "r2", "accuracy", "macro_f1"]
    full_credit: float
    zero_credit: float

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Metric:
        better_is_lower = self.kind in LOWER_IS_BETTER
        if (self.full_credit >= self.zero_credit) if better_is_lower else (self.full_credit <= self.zero_credit):
            raise ValueError(
                f"full_credit ({self.full_credit}) must be {'below' if better_is_lower else 'above'} "
                f"zero_credit ({self.zero_credit}) for a {self.kind} metric"
            )
        return self


class Project(_Strict):
    """A second method that maps inputs to a code, e.g. the autoencoder's `project`."""

    method: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    width_arg: int = Field(ge=0)


class ModelSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: dict[Literal["ja", "en"], str]
    class_names: list[str] = Field(min_length=1)
    # A class that has all of these methods matches too, whatever its name (the lesson's AE is a
    # redefined `MLPR` with `project`).
    match_methods: list[str] = Field(default_factory=list)
    # The constructor's arguments: a list (called positionally; with `layers`, the widths), or a
    # table by name (`{n_channels = 8, n_hidden = 32}`: called by keyword, what a pattern names).
    args: list[int] = Field(min_length=1, max_length=20)
    # The constructor's parameters, as messages name them (default: n_input, n_hidden, ..., n_output).
    arg_names: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] | None = None
    keyword_args: bool = False  # set by `args` given as a table
    # The data set's columns the model reads (indexes, or "all" of them, read by the assignment), and
    # the shape of one input row (`[1, 8, 8]` for an image; default: the columns as a vector).
    features: list[int] = Field(min_length=1)
    input_shape: list[Annotated[int, Field(ge=1)]] | None = Field(None, min_length=1, max_length=4)
    # What the inputs are: values (float32), or "indices": whole numbers 0 .. vocabulary - 1 (int64),
    # what an `nn.Embedding` reads (words of a sentence, items of a basket).
    inputs: Literal["values", "indices"] = "values"
    vocabulary: int | None = Field(None, ge=2, le=1_000_000)
    target: Literal["class", "species", "class_index"] | list[int]
    # The width of forward's output, where `args` does not end with it (a pattern's model).
    outputs: int | None = Field(None, ge=1, le=10_000)
    structure: Structure
    output_range: tuple[float, float] | None = None
    project: Project | None = None
    metric: Metric
    recipe: Recipe | None = None
    # Points by check name (`metric` for the test metric), over each check's default: the checks
    # decide which names exist (grader.checks; an unknown one is an error when the spec loads).
    points: dict[CheckName, Annotated[float, Field(ge=0, le=1000)]] = Field(default_factory=dict)
    # Options of the checks that take some, by check name; a check that is not graded by default
    # (e.g. `parameter_count`) is graded when it is named here.
    checks: dict[CheckName, dict[str, Any]] = Field(default_factory=dict)
    # Who sees each check's result, by check name (default: everyone); an instructor's check says it
    # in its own declaration.
    visibility: dict[CheckName, Visibility] = Field(default_factory=dict)
    # The lesson's section each check is about, by check name: shown beside its message and hint
    # (`structure = { ja = "課題: CNN クラス", en = "Exercise: the CNN class" }`).
    sections: dict[CheckName, Texts] = Field(default_factory=dict)
    # This model's own budget per phase, in place of the assignment's `model_timeout_s`.
    model_timeout_s: float | None = Field(None, gt=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _arguments_by_name(cls, data: Any) -> Any:
        """`args` as a table: its values in order, its keys as `arg_names`, and a `hidden_arg` or
        `project.width_arg` given by name turned into its position."""
        if not isinstance(data, dict) or not isinstance(data.get("args"), dict):
            return data
        if "arg_names" in data:
            raise ValueError("`args` as a table names the arguments: no `arg_names` beside it")
        names = list(data["args"])
        data = {**data, "args": list(data["args"].values()), "arg_names": names, "keyword_args": True}
        for owner, key in (("structure", "hidden_arg"), ("project", "width_arg")):
            section = data.get(owner)
            if isinstance(section, dict) and isinstance(section.get(key), str):
                if section[key] not in names:
                    raise ValueError(f"{owner}.{key}: {section[key]!r} is not one of the args ({', '.join(names)})")
                data[owner] = {**section, key: names.index(section[key])}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if (self.inputs == "indices") != (self.vocabulary is not None):
            raise ValueError("inputs = \"indices\" needs a `vocabulary` (how many indices there are), and a "
                             "vocabulary goes with index inputs")
        if self.arg_names is not None and len(self.arg_names) != len(self.args):
            raise ValueError(f"arg_names names {len(self.arg_names)} arguments but args has {len(self.args)}")
        if self.input_shape is not None and int(np.prod(self.input_shape)) != len(self.features):
            raise ValueError(f"input_shape {self.input_shape} holds {int(np.prod(self.input_shape))} numbers, "
                             f"but the model reads {len(self.features)} feature columns")
        if self.structure.pattern is not None:
            return self._consistent_pattern()
        layers = self.structure.layers or []
        if len(self.args) < 2:
            raise ValueError("with `layers`, args are the widths: the inputs, ..., the outputs")
        if self.args[0] != len(self.features):
            raise ValueError(f"args[0] ({self.args[0]}) must equal the number of features ({len(self.features)})")
        n_linear = layers.count("linear")
        if n_linear != len(self.args) - 1:
            raise ValueError(f"structure.layers has {n_linear} linear layers but args gives {len(self.args) - 1}")
        for index in (self.structure.hidden_arg, self.project.width_arg if self.project else None):
            if index is not None and not 0 < index < len(self.args) - 1:
                raise ValueError(f"argument index {index} must point at a hidden width in args {self.args}")
        return self

    def _consistent_pattern(self) -> ModelSpec:
        if self.outputs is None:
            raise ValueError("with a `pattern`, give `outputs`: the width of forward's output")
        if not self.keyword_args and any(t.argument_names() for t in self.structure.parsed().tokens()):
            raise ValueError("the pattern names constructor arguments: give `args` as a table of them by name")
        self.structure.parsed().resolved(self.named_args)  # every name it uses is an argument
        for index in (self.structure.hidden_arg, self.project.width_arg if self.project else None):
            if index is not None and not 0 <= index < len(self.args):
                raise ValueError(f"argument index {index} is not one of args {self.args}")
        return self

    @property
    def named_args(self) -> dict[str, int]:
        """The constructor's arguments by name (those a pattern may name)."""
        return dict(zip(self.parameter_names, self.args))

    @property
    def output_width(self) -> int:
        return self.outputs if self.outputs is not None else self.args[-1]

    @property
    def row_shape(self) -> tuple[int, ...]:
        """The shape of one input: `input_shape`, else the feature columns as a vector."""
        return tuple(self.input_shape) if self.input_shape is not None else (len(self.features),)

    @property
    def input_width(self) -> int:
        """The numbers in one input: the feature columns it reads."""
        return len(self.features)

    @property
    def input_text(self) -> str:
        """The inputs as messages name them: `4`, or `1×8×8`."""
        return "×".join(map(str, self.row_shape))

    @property
    def parameter_names(self) -> list[str]:
        """The constructor's parameters by name: the spec's `arg_names`, else n_input, n_hidden, n_output."""
        if self.arg_names is not None:
            return list(self.arg_names)
        hidden = len(self.args) - 2
        middle = ["n_hidden"] if hidden == 1 else [f"n_hidden{i}" for i in range(1, hidden + 1)]
        return ["n_input", *middle, "n_output"]

    @property
    def task(self) -> Literal["classification", "regression", "reconstruction"]:
        """What the model predicts, which decides the hints it gets: classes (a class target), its own
        inputs (an autoencoder), or values."""
        if self.target in CLASS_TARGETS:
            return "classification"
        return "reconstruction" if self.target == self.features else "regression"

    @property
    def captured(self) -> bool:
        """The model is sent as a graph and graded on it: always, unless the spec turns the `capture`
        check off for it (`[models.checks.capture] enabled = false`)."""
        return self.checks.get("capture", {}).get("enabled", True) is not False


class Validation(_Strict):
    """Training rows held out for students' self-checks (`grader.check`, the kit): a seeded sample
    of each class's training rows, which a self-check trains without and scores on. The grading
    trains on every training row and scores on the test rows, which no self-check sees."""

    fraction: float = Field(0.2, gt=0, le=0.5)
    seed: int = 0


# A file of row numbers beside the spec (grader.spec.datasets.index_files).
INDEX_FILE = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.(txt|csv)$"


class Dataset(_Strict):
    # A data set of the registry (grader.spec.datasets): its module makes each model's split.
    name: str = "iris"
    # How the rows are split: "parity" (odd rows train, even rows test, as in the lesson; or as
    # `train_rows`/`test_rows` say), "random" (a seeded `test_fraction` of the rows tests),
    # "stratified" (that fraction of each class's rows), "column" (a CSV's `split_column`: its
    # `test_values` test, its `train_values` train, by default every other value), or "index_files"
    # (the row numbers listed in `test_index`, and in `train_index`, by default every other row).
    split: Literal["parity", "random", "stratified", "column", "index_files"] = "parity"
    train_rows: Literal["odd", "even"] = "odd"
    test_rows: Literal["odd", "even"] = "even"
    test_fraction: float = Field(0.25, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    validation: Validation | None = None
    # Fitted on the training rows alone: "standardize" shifts and scales each feature column by their
    # mean and spread, "minmax" maps their range to [0, 1].
    preprocess: Literal["none", "standardize", "minmax"] = "none"
    # The rows a grading scores on: the test rows, or the validation rows (a self-check; a kit's spec).
    scored_on: Literal["test", "validation"] = "test"
    # name = "generated": the function of the assignment's data.py that makes the rows (called with a
    # numpy generator seeded by `seed`, and `options` as keyword arguments).
    generator: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    options: dict[str, int | float | str | bool] = Field(default_factory=dict)
    # name = "file": a CSV or NPZ file in the assignment folder; a CSV's column of class labels, and
    # their order (default: sorted).
    file: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.(csv|npz)$")
    class_column: str | None = Field(None, min_length=1, max_length=200)
    class_names: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, min_length=2)
    # A CSV's columns of categories (words or numbers), each read as one 0/1 column per category that
    # the training rows hold (`island=Biscoe`); a model names them all by the column's name.
    onehot: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=100)
    split_column: str | None = Field(None, min_length=1, max_length=200)
    test_values: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=1000)
    train_values: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=1000)
    train_index: str | None = Field(None, pattern=INDEX_FILE)
    test_index: str | None = Field(None, pattern=INDEX_FILE)

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in DATASETS and name not in MADE:
            raise ValueError(f"unknown data set {name!r} (known: {', '.join(sorted(DATASETS))}, or {GENERATED!r} "
                             f"with a generator, or {FILE!r} with a file)")
        return name

    @model_validator(mode="after")
    def _apart(self) -> Dataset:
        if self.split != "parity" and self.model_fields_set & {"train_rows", "test_rows"}:
            raise ValueError(f"train_rows and test_rows are the \"parity\" split's: a {self.split} split does not "
                             "read them")
        if self.train_rows == self.test_rows:
            raise ValueError(f"train_rows and test_rows are both {self.train_rows!r}: students would be scored "
                             "on the rows they trained on")
        if (self.name == GENERATED) != (self.generator is not None):
            raise ValueError(f"a `generator` goes with name = {GENERATED!r}, and generated data needs one")
        if (self.name == FILE) != (self.file is not None):
            raise ValueError(f"a `file` goes with name = {FILE!r}, and file data needs one (a .csv or .npz beside "
                             "the spec)")
        if self.class_names is not None and self.class_column is None:
            raise ValueError("class_names name the values of a class_column")
        if self.scored_on == "validation" and self.validation is None:
            raise ValueError("scored_on = \"validation\" needs a [dataset.validation] to score on")
        return self._split_keys_fit()

    def _split_keys_fit(self) -> Dataset:
        csv = self.name == FILE and str(self.file).endswith(".csv")
        if (self.split == "column") != (self.split_column is not None):
            raise ValueError("a `split_column` goes with split = \"column\", and a column split needs one")
        if self.split == "column" and not (csv and self.test_values):
            raise ValueError("split = \"column\" splits a CSV file's rows (name = \"file\") by the values of "
                             "split_column: `test_values` lists those of the test rows")
        if self.split != "column" and (self.test_values or self.train_values):
            raise ValueError("test_values and train_values go with split = \"column\"")
        if set(self.test_values) & set(self.train_values):
            raise ValueError(f"test_values and train_values share {sorted(set(self.test_values) & set(self.train_values))}: "
                             "students would be scored on rows they trained on")
        if (self.split == "index_files") != (self.test_index is not None):
            raise ValueError("a `test_index` file goes with split = \"index_files\", and that split needs one")
        if self.train_index is not None and self.train_index == self.test_index:
            raise ValueError("train_index and test_index are the same file: students would be scored on rows "
                             "they trained on")
        if self.train_index is not None and self.test_index is None:
            raise ValueError("a `train_index` goes with a `test_index` (split = \"index_files\")")
        if self.onehot and not csv:
            raise ValueError("onehot names columns of a CSV file (name = \"file\")")
        taken = {self.class_column, self.split_column} & set(self.onehot)
        if taken:
            raise ValueError(f"onehot: {sorted(map(str, taken))} is the class or split column, not an input")
        if self.split_column is not None and self.split_column == self.class_column:
            raise ValueError("split_column is the class column")
        return self

    @property
    def index_files(self) -> list[str]:
        """The files of row numbers the split reads: the test rows', then the training rows'."""
        return [name for name in (self.test_index, self.train_index) if name is not None]


class Limits(_Strict):
    """Resource limits of the sandbox each submission runs in. The wall clock is `timeout_s`.

    `memory_mb` is the cgroup limit (the run is killed above it; RLIMIT_DATA is twice it, so one
    absurd allocation fails with MemoryError instead); `processes` counts threads too.
    """

    cpu_s: float = Field(600, gt=0, le=36_000)
    memory_mb: int = Field(2048, ge=256, le=65_536)
    processes: int = Field(128, ge=16, le=4096)
    file_size_mb: int = Field(100, ge=1, le=10_240)
    open_files: int = Field(512, ge=64, le=65_536)
    output_kb: int = Field(256, ge=1, le=65_536)
    tmp_mb: int = Field(256, ge=16, le=16_384)
    # Intake, on the trusted side (grader/submission.py): a submitted zip may hold this many entries
    # (files and folders, macOS's __MACOSX copies included) and unpack to this many MB in all.
    zip_members: int = Field(200, ge=1, le=10_000)
    # A captured model's tensors outside its standard layers (constants, buffers, plain parameters)
    # may hold this many numbers each: a larger one could carry a table of answers, and zeroes the
    # metric (`suspicious_constant`). The lesson's hand-written weights hold 12.
    graph_constant_numbers: int = Field(256, ge=1, le=10_000_000)
    zip_total_mb: int = Field(50, ge=1, le=1024)


class Similarity(_Strict):
    """`grader grade` lists pairs of submissions this alike (grader/similarity.py)."""

    threshold: float = Field(0.8, gt=0, le=1)  # share of the smaller file's fingerprints the other holds
    min_tokens: int = Field(60, ge=1)  # a file with less code of its own (template removed) is not compared
    # The code handed out, relative to the assignment folder: not evidence of copying.
    template: list[str] = Field(default_factory=lambda: ["assignment.ipynb"])


class RubricPoint(_Strict):
    """One idea a written answer is expected to mention, and the phrases that suggest it does."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: dict[Literal["ja", "en"], str]
    # Phrases in either language (matched after NFKC, case folding and dropping spaces/hyphens):
    # any one of them found marks the point as covered, provisionally.
    keywords: dict[Literal["ja", "en"], list[str]]

    @model_validator(mode="after")
    def _some_keywords(self) -> RubricPoint:
        if not any(k.strip() for words in self.keywords.values() for k in words):
            raise ValueError(f"rubric point {self.id!r} has no keywords")
        return self


class FindAnswer(_Strict):
    """Where a written answer is (grader/written.py): the first of these that finds text wins.

    `tags`: markdown cells carrying one of these notebook cell tags. `headings`: the markdown cells
    after a heading that contains one of these phrases, up to the next heading (also a section of a
    module docstring or text file that starts with such a line). `files`: text files in a zip.
    """

    tags: list[str] = Field(default_factory=list)
    headings: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=lambda: ["answer.txt", "answer.md"])


class WrittenQuestion(_Strict):
    """A question answered in prose, scored by a person (OUT/review.csv); never by the grader."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: dict[Literal["ja", "en"], str]
    points: float = Field(gt=0, le=1000)
    find: FindAnswer = FindAnswer()
    rubric: list[RubricPoint] = Field(default_factory=list)
    max_chars: int = Field(5000, ge=100, le=100_000)  # the answer is cut here in the result JSON

    @model_validator(mode="after")
    def _unique_rubric_ids(self) -> WrittenQuestion:
        ids = [r.id for r in self.rubric]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rubric ids must be unique, got {ids}")
        return self


class Assignment(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: dict[Literal["ja", "en"], str]
    lang: Literal["ja", "en"] = "ja"
    mode: Mode = "definitions"
    timeout_s: float = Field(300, gt=0, le=3600)
    # Budgets inside the wall clock, so that a hang costs one model and seconds, not the whole run:
    # each phase of each model (construction, probes, training) may take `model_timeout_s` (default
    # timeout_s / models, at most DEFAULT_MODEL_TIMEOUT_S), and loading the submission (its top-level
    # code) `load_timeout_s` (default DEFAULT_LOAD_TIMEOUT_S); neither beyond `timeout_s`.
    model_timeout_s: float | None = Field(None, gt=0, le=3600)
    load_timeout_s: float | None = Field(None, gt=0, le=3600)
    limits: Limits = Limits()
    dataset: Dataset = Dataset()
    recipe: Recipe = Recipe()
    similarity: Similarity = Similarity()
    models: list[ModelSpec] = Field(min_length=1)
    # Questions answered in prose: scored by a person, never part of `max_score` (grader/written.py).
    written: list[WrittenQuestion] = Field(default_factory=list)
    # Checks the instructor wrote (`checks.py` beside the spec), and when the assignment is due:
    # `after_due_date` results are shown to students from then on (a TOML date-time with its offset).
    checks: list[InstructorCheck] = Field(default_factory=list)
    due: datetime | None = None

    @model_validator(mode="after")
    def _unique_model_ids(self) -> Assignment:
        ids = [m.id for m in self.models]
        if len(set(ids)) != len(ids):
            raise ValueError(f"model ids must be unique, got {ids}")
        written = [w.id for w in self.written]
        if len(set(written)) != len(written):
            raise ValueError(f"written question ids must be unique, got {written}")
        checks = [c.id for c in self.checks]
        if len(set(checks)) != len(checks):
            raise ValueError(f"the ids of the instructor's checks must be unique, got {checks}")
        return self

    @model_validator(mode="after")
    def _checks_and_visibility(self) -> Assignment:
        """An instructor's check names models the spec has; a result shown after the due date needs one."""
        ids = {m.id for m in self.models}
        problems = [f"checks.{index}.models ({check.id}): no model {name!r} (the spec has: {', '.join(sorted(ids))})"
                    for index, check in enumerate(self.checks) for name in check.models if name not in ids]
        if self.due is None:
            later = [f"checks.{i}" for i, c in enumerate(self.checks) if c.visibility == "after_due_date"]
            later += [f"models.{i}.visibility.{name}" for i, m in enumerate(self.models)
                      for name, seen in m.visibility.items() if seen == "after_due_date"]
            problems += [f"{key}: after_due_date needs the assignment's `due` (a date-time with its offset)"
                         for key in later]
        elif self.due.tzinfo is None:
            problems.append("due: give the offset (2026-12-10T23:59:00+09:00): a date-time without one means "
                            "another moment on every machine")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="before")
    @classmethod
    def _all_features(cls, data: Any) -> Any:
        """`features = "all"`: every column of the data set, in order."""
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            return data
        if not any(isinstance(m, dict) and m.get("features") == "all" for m in data["models"]):
            return data
        dataset = data.get("dataset") or {}
        name = dataset.get("name", "iris") if isinstance(dataset, dict) else "iris"
        if name not in DATASETS and name != GENERATED:
            return data  # the dataset's own validator names it; a file's columns are read by grader.spec.load

        def every(model: dict[str, Any]) -> list[int]:
            # Generated data's columns are known once it runs: as many as one input of `input_shape` holds.
            shape = model.get("input_shape")
            if name == GENERATED:
                return list(range(int(np.prod(shape)))) if isinstance(shape, list) and shape else []
            return list(range(len(columns(name))))

        models = [{**m, "features": every(m)} if isinstance(m, dict) and m.get("features") == "all" else m
                  for m in data["models"]]
        return {**data, "models": models}

    @model_validator(mode="after")
    def _outputs_fit_the_target(self) -> Assignment:
        """forward's output width is one per class of a class target, one per target column."""
        problems = []
        for index, model in enumerate(self.models):
            if self.dataset.name in MADE and model.target in CLASS_TARGETS:
                continue  # its classes are known once it is made or read (grader.spec.load checks them then)
            if model.target in CLASS_TARGETS and not class_names(self.dataset.name):
                problems.append(f"models.{index}.target ({model.id}): {self.dataset.name} has no classes: its target "
                                "is columns of values")
                continue
            if model.target == CLASS_INDEX and len(class_names(self.dataset.name)) != 2:
                problems.append(f"models.{index}.target ({model.id}): class_index is one output for two classes; "
                                f"{self.dataset.name} has {len(class_names(self.dataset.name))}: give target = \"class\" "
                                "(one output per class)")
                continue
            want = 1 if model.target == CLASS_INDEX else \
                len(class_names(self.dataset.name)) if model.target in CLASS_TARGETS else len(model.target)
            if model.output_width != want:
                source = "outputs" if model.outputs is not None else "args[-1]"
                each = "one output for two classes" if model.target == CLASS_INDEX else \
                    "one per class" if model.target in CLASS_TARGETS else "one per target column"
                problems.append(f"models.{index}.{source} ({model.id}): {model.output_width} outputs, but the target "
                                f"needs {want} ({each})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _columns_of_the_data_set(self) -> Assignment:
        """Every feature and target column a model names is one its data set has (a column that is
        not there was a raw IndexError at grading)."""
        if self.dataset.name in MADE:
            return self  # its columns are known once it is made or read (grader.spec.load checks them then)
        names = columns(self.dataset.name)
        known = f"{self.dataset.name} has {len(names)}: " + ", ".join(f"{i} {name}" for i, name in enumerate(names))
        problems = []
        for index, model in enumerate(self.models):
            if isinstance(model.target, list) and model.target != model.features and set(model.target) & set(model.features):
                problems.append(f"models.{index}.features ({model.id}): reads the column(s) "
                                f"{sorted(set(model.target) & set(model.features))} it predicts (target {model.target})")
            named = [("features", model.features)] + ([("target", model.target)] if isinstance(model.target, list) else [])
            for key, picked in named:
                missing = [column for column in picked if not 0 <= column < len(names)]
                if missing:
                    problems.append(f"models.{index}.{key} ({model.id}): no column {', '.join(map(str, missing))} ({known})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _indices_stay_whole(self) -> Assignment:
        readers = [f"models.{i}.inputs ({m.id})" for i, m in enumerate(self.models) if m.inputs == "indices"]
        if readers and self.dataset.preprocess != "none":
            raise ValueError(f"{', '.join(readers)}: indices are read as they are, and dataset.preprocess = "
                             f"{self.dataset.preprocess!r} would scale them: an assignment with a model reading "
                             "indices scales no inputs")
        return self

    @model_validator(mode="after")
    def _losses_fit_their_targets(self) -> Assignment:
        problems = [f"{f'models.{index}.recipe' if model.recipe else 'recipe'}.loss ({model.id}): "
                    f"{self.recipe_for(model).loss} needs a class target "
                    f"(target = \"class\"), not columns {model.target}"
                    for index, model in enumerate(self.models)
                    if self.recipe_for(model).loss in CLASS_LOSSES and model.target not in CLASS_TARGETS]
        problems += [f"models.{index}.metric.kind ({model.id}): {model.metric.kind} scores predicted classes and needs "
                     f"a class target (target = \"class\"), not columns {model.target}"
                     for index, model in enumerate(self.models)
                     if model.metric.kind in CLASS_METRICS and model.target not in CLASS_TARGETS]
        problems += [f"{f'models.{index}.recipe' if model.recipe else 'recipe'}.loss ({model.id}): "
                     f"{self.recipe_for(model).loss} reads one output per class; a class_index target has one "
                     "output for two classes: train it with bce_with_logits (or bce on a sigmoid)"
                     for index, model in enumerate(self.models)
                     if model.target == CLASS_INDEX and self.recipe_for(model).loss in PER_CLASS_LOSSES]
        for index, model in enumerate(self.models):
            weights = self.recipe_for(model).class_weights
            classes = class_names(self.dataset.name)
            if weights is not None and classes and len(weights) != len(classes):
                key = f"models.{index}.recipe" if model.recipe else "recipe"
                problems.append(f"{key}.class_weights ({model.id}): {len(weights)} weights for the {len(classes)} "
                                f"classes of {self.dataset.name} ({', '.join(classes)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _budgets_inside_the_wall_clock(self) -> Assignment:
        budgets = [("model_timeout_s", self.model_timeout_s), ("load_timeout_s", self.load_timeout_s)]
        budgets += [(f"models.{i}.model_timeout_s", m.model_timeout_s) for i, m in enumerate(self.models)]
        for key, value in budgets:
            if value is not None and value > self.timeout_s:
                raise ValueError(f"{key} ({value:g}) must not exceed timeout_s ({self.timeout_s:g})")
        return self

    def model_timeout_for(self, model: ModelSpec) -> float:
        """The budget of each phase of `model` (construction, probes, training), in seconds."""
        if model.model_timeout_s is not None:
            return model.model_timeout_s
        if self.model_timeout_s is not None:
            return self.model_timeout_s
        # An honest model of iris_basics takes about a second per phase; a hang costs this much.
        return round(min(self.timeout_s / len(self.models), DEFAULT_MODEL_TIMEOUT_S), 3)

    @property
    def load_timeout(self) -> float:
        """The budget of loading the submission (running its top-level code), in seconds."""
        return self.load_timeout_s if self.load_timeout_s is not None else min(DEFAULT_LOAD_TIMEOUT_S, self.timeout_s)

    @property
    def written_max(self) -> float:
        return round(sum(w.points for w in self.written), 2)

    def past_due(self, now: datetime) -> bool:
        """The due date has passed at `now` (an aware date-time): `after_due_date` results are shown."""
        return self.due is not None and now >= self.due

    def public(self) -> Assignment:
        """The assignment as a student's self-check grades it: scored on the validation rows where
        the spec holds some out (the test rows are the grading's alone), else as it is."""
        if self.dataset.validation is None or self.dataset.scored_on == "validation":
            return self
        return self.model_copy(update={"dataset": self.dataset.model_copy(update={"scored_on": "validation"})})

    def recipe_for(self, model: ModelSpec) -> Recipe:
        return model.recipe or self.recipe
