"""Sentence(-pair) classification data: the GLUE TSV layouts and plain CSV/TSV.

GLUE (data_dir holds one task's files, as in the GLUE download):

| task    | files                                        | text_a, text_b, label columns (0-based; -1 last) | labels |
|---------|----------------------------------------------|------------------------------|--------|
| cola    | train/dev.tsv (no header), test.tsv          | 3, -, 1; test: 1             | 0, 1 |
| sst-2   | train/dev/test.tsv                           | 0, -, 1; test: 1             | 0, 1 |
| mrpc    | train/dev/test.tsv                           | 3, 4, 0; test: 3, 4          | 0, 1 |
| sts-b   | train/dev/test.tsv                           | 7, 8, -1; test: 7, 8         | float score |
| qqp     | train/dev/test.tsv                           | 3, 4, 5; test: 1, 2          | 0, 1 |
| mnli    | train, dev_matched, test_matched.tsv         | 8, 9, -1; test: 8, 9         | contradiction, entailment, neutral |
| mismnli | train, dev_mismatched, test_mismatched.tsv   | as mnli                      | as mnli |
| qnli    | train/dev/test.tsv                           | 1, 2, -1; test: 1, 2         | entailment, not_entailment |
| rte     | as qnli                                      | as qnli                      | entailment, not_entailment |
| wnli    | as qnli                                      | as qnli                      | 0, 1 |

Test files' first column is the example index (written back in
submit_results.tsv). Generic tasks `csv` / `tsv` read train/dev/test.csv
(.tsv) with a header naming the columns `text` (or `text_a`), optionally
`text_b`, and `label` (optional in test); --text_column, --text_b_column
and --label_column name other columns. The label set comes from --labels or
from the training file.

Empty text: a generic file's row whose text is empty (or whitespace) is
refused with its file and line (the model would see only [CLS] [SEP] and
learn the label from nothing); an empty text_b is fine and makes the row a
single-sentence example, as in the original. GLUE files keep the original's
behaviour, as the official downloads have a few rows with an empty text
(QQP): those rows are read, with a warning counting them.
"""

import dataclasses
import logging
import os

from albert_tf.errors import FlagError
from albert_tf.tasks import metrics as metrics_lib
from albert_tf.tasks.input_files import InputFormatError
from albert_tf.tasks.input_files import check_columns
from albert_tf.tasks.input_files import check_label
from albert_tf.tasks.input_files import read_csv
from albert_tf.tasks.input_files import read_tsv
from albert_tf.tasks.input_files import require_file

TRAIN, DEV, TEST = "train", "dev", "test"


@dataclasses.dataclass
class Example:
  guid: str
  text_a: str
  text_b: object = None  # str or None
  label: object = None  # str (classification), float (regression) or None
  source: str = ""  # "path:line", for error messages.


@dataclasses.dataclass(frozen=True)
class Columns:
  text_a: int
  text_b: object = None  # int or None
  label: object = None
  index: object = None  # Test files: the example id column.


@dataclasses.dataclass(frozen=True)
class GlueTask:
  """One GLUE task's files, columns, labels and metrics."""
  name: str
  labels: tuple  # () for regression.
  columns: Columns
  test_columns: Columns
  files: tuple = ("train.tsv", "dev.tsv", "test.tsv")
  header: bool = True
  test_header: bool = True
  metric_names: tuple = ("accuracy",)
  best_metric: str = "accuracy"

  @property
  def is_regression(self):
    return not self.labels

  def file_for(self, data_dir, split):
    return os.path.join(data_dir, self.files[(TRAIN, DEV, TEST).index(split)])

  def read(self, data_dir, split):
    path = require_file(self.file_for(data_dir, split), f"{split} file")
    rows = read_tsv(path)
    has_header = self.test_header if split == TEST else self.header
    if has_header:
      rows = rows[1:]
    if not rows:
      raise InputFormatError(path, "file has a header but no examples")
    columns = self.test_columns if split == TEST else self.columns
    examples = [self._example(path, line, row, split, columns, n)
                for n, (line, row) in enumerate(rows)]
    empty = [e.source for e in examples
             if not e.text_a.strip() or (e.text_b is not None and
                                         not e.text_b.strip())]
    if empty:
      logging.warning(
          "%s: %d examples with an empty text (first: %s), read as the "
          "original does", path, len(empty), empty[0])
    return examples

  def _example(self, path, line, row, split, columns, n):
    used = [c for c in (columns.text_a, columns.text_b, columns.label,
                        columns.index) if c is not None]
    needed = max([c + 1 if c >= 0 else -c for c in used])
    check_columns(path, line, row, needed)
    guid = row[columns.index] if columns.index is not None else f"{split}-{n}"
    label = None
    if columns.label is not None:
      label = row[columns.label].strip()
      if self.is_regression:
        try:
          label = float(label)
        except ValueError:
          raise InputFormatError(path, f"score {label!r} is not a number",
                                 line=line) from None
      else:
        check_label(path, line, label, self.labels)
    text_b = row[columns.text_b] if columns.text_b is not None else None
    return Example(guid, row[columns.text_a], text_b, label, f"{path}:{line}")

  def compute_metrics(self, labels, predictions):
    return compute_metrics(self.metric_names, labels, predictions)


def compute_metrics(names, labels, predictions):
  functions = {
      "accuracy": metrics_lib.accuracy,
      "f1": metrics_lib.f1,
      "mcc": metrics_lib.matthews_corrcoef,
      "pearson": metrics_lib.pearson,
      "spearman": metrics_lib.spearman,
  }
  return {name: functions[name](labels, predictions) for name in names}


_BINARY = ("0", "1")
_NLI = ("contradiction", "entailment", "neutral")
_ENTAIL = ("entailment", "not_entailment")
_QNLI_COLUMNS = Columns(1, 2, -1)
_QNLI_TEST = Columns(1, 2, index=0)
_MNLI_COLUMNS = Columns(8, 9, -1)
_MNLI_TEST = Columns(8, 9, index=0)

GLUE_TASKS = {
    task.name: task for task in (
        GlueTask("cola", _BINARY, Columns(3, None, 1), Columns(1, index=0),
                 header=False, metric_names=("accuracy", "mcc"),
                 best_metric="mcc"),
        GlueTask("sst-2", _BINARY, Columns(0, None, 1), Columns(1, index=0)),
        GlueTask("mrpc", _BINARY, Columns(3, 4, 0), Columns(3, 4, index=0),
                 metric_names=("accuracy", "f1")),
        GlueTask("sts-b", (), Columns(7, 8, -1), Columns(7, 8, index=0),
                 metric_names=("pearson", "spearman"), best_metric="pearson"),
        GlueTask("qqp", _BINARY, Columns(3, 4, 5), Columns(1, 2, index=0),
                 metric_names=("accuracy", "f1")),
        GlueTask("mnli", _NLI, _MNLI_COLUMNS, _MNLI_TEST,
                 files=("train.tsv", "dev_matched.tsv", "test_matched.tsv")),
        GlueTask("mismnli", _NLI, _MNLI_COLUMNS, _MNLI_TEST,
                 files=("train.tsv", "dev_mismatched.tsv",
                        "test_mismatched.tsv")),
        GlueTask("qnli", _ENTAIL, _QNLI_COLUMNS, _QNLI_TEST),
        GlueTask("rte", _ENTAIL, _QNLI_COLUMNS, _QNLI_TEST),
        GlueTask("wnli", _BINARY, _QNLI_COLUMNS, _QNLI_TEST),
    )
}
GENERIC_TASKS = ("csv", "tsv")
TASK_NAMES = tuple(GLUE_TASKS) + GENERIC_TASKS


@dataclasses.dataclass(frozen=True)
class ColumnNames:
  """Header names of a csv/tsv task's columns (--text_column, ...)."""
  text: str = "text"
  text_b: str = "text_b"
  label: str = "label"


DEFAULT_COLUMNS = ColumnNames()


class GenericTask:
  """text[,text_b],label CSV or TSV files with a header row."""

  best_metric = "accuracy"
  is_regression = False

  def __init__(self, name, labels=None, columns=DEFAULT_COLUMNS):
    if name not in GENERIC_TASKS:
      raise ValueError(f"generic task must be one of {GENERIC_TASKS}")
    self.name = name
    self.labels = tuple(labels) if labels else None
    self.columns = columns

  def file_for(self, data_dir, split):
    return os.path.join(data_dir, f"{split}.{self.name}")

  def _rows(self, path):
    return read_csv(path) if self.name == "csv" else read_tsv(path)

  def _column(self, path, header_line, header, names, flag, required):
    """Index of the column --<flag> names; None when optional and absent."""
    wanted = getattr(self.columns, flag).strip().lower()
    default = getattr(DEFAULT_COLUMNS, flag)
    # The original layout also accepts `text_a` for the first text.
    candidates = (wanted, "text_a") if flag == "text" and (
        wanted == default) else (wanted,)
    for candidate in candidates:
      if candidate in names:
        return names.index(candidate)
    if not required:
      return None
    also = " (or `text_a`)" if len(candidates) > 1 else ""
    raise InputFormatError(
        path, f"the header must name a `{wanted}`{also} column, got "
        f"{header!r}; pass --{flag}_column to name another column",
        line=header_line)

  def read(self, data_dir, split):
    path = require_file(self.file_for(data_dir, split), f"{split} file")
    rows = self._rows(path)
    header_line, header = rows[0]
    names = [h.strip().lower() for h in header]

    def column(flag, required):
      return self._column(path, header_line, header, names, flag, required)
    text_column = column("text", True)
    # A text_b column named by the user must be there; the default is
    # optional (single-sentence tasks).
    text_b_column = column("text_b",
                           self.columns.text_b != DEFAULT_COLUMNS.text_b)
    label_column = column("label", split != TEST)
    if len(rows) < 2:
      raise InputFormatError(path, "file has a header but no examples")
    examples = []
    for n, (line, row) in enumerate(rows[1:]):
      if len(row) != len(header):
        raise InputFormatError(
            path, f"expected {len(header)} fields like the header, got "
            f"{len(row)}: {row!r}", line=line)
      if not row[text_column].strip():
        raise InputFormatError(
            path, f"the `{header[text_column].strip()}` column is empty; "
            "every example needs a text (an empty text_b is fine: the "
            "example is then a single sentence)", line=line)
      label = row[label_column].strip() if label_column is not None else None
      if label is not None and self.labels is not None:
        check_label(path, line, label, self.labels)
      examples.append(Example(
          f"{split}-{n}", row[text_column],
          row[text_b_column] if text_b_column is not None else None, label,
          f"{path}:{line}"))
    return examples

  def labels_from(self, examples):
    """Sorted distinct labels of the training examples."""
    return tuple(sorted({e.label for e in examples}))

  @property
  def metric_names(self):
    names = ["accuracy", "mcc"]
    if self.labels and len(self.labels) == 2:
      names.insert(1, "f1")
    return tuple(names)

  def compute_metrics(self, labels, predictions):
    return compute_metrics(self.metric_names, labels, predictions)


def get_task(name, labels=None, columns=DEFAULT_COLUMNS):
  name = name.lower()
  if name in GLUE_TASKS:
    if labels:
      raise FlagError("--labels applies to the generic csv/tsv tasks only")
    return GLUE_TASKS[name]
  if name in GENERIC_TASKS:
    return GenericTask(name, labels, columns)
  raise FlagError(f"unknown --task_name {name!r}; one of "
                  f"{', '.join(TASK_NAMES)}")
