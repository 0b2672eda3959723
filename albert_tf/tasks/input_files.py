"""Reading task files with errors that name the file and line.

Every reader raises InputFormatError for bad input; entry points print its
message (`error: path:line: what was expected`) and exit with status 1.
"""

import csv
import json
import os
import sys

from albert_tf import errors

# GLUE and user files have long fields (whole paragraphs).
csv.field_size_limit(sys.maxsize)


class InputFormatError(errors.InputFileError):
  """A task file is missing, empty or malformed; the message says where."""

  def __init__(self, path, message, line=None):
    self.path = path
    self.line = line
    where = f"{path}:{line}" if line is not None else f"{path}"
    super().__init__(f"{where}: {message}")


def require_file(path, what="input file"):
  if not os.path.isfile(path):
    raise InputFormatError(path, f"{what} not found")
  try:  # Another user's file: say so here, not a PermissionError later.
    with open(path, "rb"):
      pass
  except OSError as e:
    raise InputFormatError(path, f"{what} cannot be read: "
                           f"{e.strerror}") from None
  if os.path.getsize(path) == 0:
    raise InputFormatError(path, f"{what} is empty")
  return path


def _open_text(path):
  require_file(path)
  return open(path, encoding="utf-8", newline="")


def read_delimited(path, delimiter="\t", quotechar=None):
  """Rows of a TSV/CSV file as (line_number, [fields]) pairs.

  TSV is read like the original GLUE readers (no quoting); CSV with standard
  double-quote quoting. Line numbers are 1-based physical lines where a row
  starts. Blank lines are skipped.
  """
  rows = []
  try:
    with _open_text(path) as f:
      if quotechar is None:
        reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE)
      else:
        reader = csv.reader(f, delimiter=delimiter, quotechar=quotechar,
                            strict=True)
      line = 1
      for row in reader:
        if any(field.strip() for field in row):
          rows.append((line, row))
        line = reader.line_num + 1
  except UnicodeDecodeError as e:
    raise InputFormatError(path, f"not UTF-8 text ({e})") from None
  except csv.Error as e:
    raise InputFormatError(path, f"malformed row: {e}",
                           line=reader.line_num) from None
  if not rows:
    raise InputFormatError(path, "file has no rows")
  return rows


def read_tsv(path):
  return read_delimited(path, "\t")


def read_csv(path):
  return read_delimited(path, ",", quotechar='"')


def check_columns(path, line, row, count):
  """Rows must have at least `count` fields."""
  if len(row) < count:
    raise InputFormatError(
        path, f"expected at least {count} tab/comma-separated fields, got "
        f"{len(row)}: {row!r}", line=line)


def read_json(path):
  try:
    with _open_text(path) as f:
      return json.load(f)
  except UnicodeDecodeError as e:
    raise InputFormatError(path, f"not UTF-8 text ({e})") from None
  except json.JSONDecodeError as e:
    raise InputFormatError(path, f"malformed JSON: {e.msg} (column {e.colno})",
                           line=e.lineno) from None


def check_label(path, line, label, label_list):
  if label not in label_list:
    raise InputFormatError(
        path, f"label {label!r} is not in the label set "
        f"{', '.join(map(str, label_list))}", line=line)
  return label
