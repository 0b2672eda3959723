"""Streaming documents out of text files, one shard's share at a time."""

import tensorflow as tf

from albert_tf import errors
from albert_tf.files.file_patterns import expand_file_patterns


class InputError(errors.InputFileError):
  """Bad input files; the message names the file (and line)."""


def expand_input_files(input_file):
  """The files --input_file names (see file_patterns.expand_file_patterns)."""
  return expand_file_patterns(input_file, "input_file", error=InputError)


def total_bytes(files):
  return sum(tf.io.gfile.stat(f).length for f in files)


def iter_documents(files, keep=lambda index: True, on_bytes=None):
  """Yields (index, [line, ...]) for each document that keep(index) accepts.

  Blank (whitespace-only) lines separate documents, as in the original; a
  file's end also ends its document (the original would run it on into the
  next file). Documents are numbered across all files. Documents that keep()
  rejects are skimmed, not built, so memory holds one document at a time.
  Every line must be UTF-8: a bad one raises InputError naming file and line.
  """
  index = 0
  for path in files:
    current = None  # Lines of the document being read; None between them.
    with tf.io.gfile.GFile(path, "rb") as reader:
      for line_number, raw in enumerate(reader, start=1):
        if on_bytes is not None:
          on_bytes(len(raw))
        try:
          line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
          raise InputError(
              f"{path}:{line_number}: not valid UTF-8 (byte {e.start}); "
              "convert the corpus to UTF-8") from e
        if not line.strip():
          if current is not None:
            if keep(index):
              yield index, current
            index += 1
            current = None
          continue
        if current is None:
          current = []
        if keep(index):
          current.append(line)
    if current is not None:
      if keep(index):
        yield index, current
      index += 1
