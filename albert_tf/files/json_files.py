"""Reading a user's JSON file: every way it can be wrong names the file.

Configs, SQuAD files and the like come from users, so a file that cannot
be read, is not UTF-8, is not JSON or nests too deeply is their error, and
is said as one line naming the file and what was expected.
"""

import json


def read_json(path, expected, error, read_bytes=None):
  """The parsed JSON of the file at `path`.

  Args:
    path: the file.
    expected: what the file should be, for the messages ("an
      albert_config.json", "SQuAD JSON").
    error: the UserError subclass to raise.
    read_bytes: path -> bytes; default: the local file system (pass a
      tf.io.gfile reader for gs:// and the like).

  Raises:
    error: the file cannot be read, is empty, is not UTF-8 or not JSON.
  """
  try:
    if read_bytes is None:
      with open(path, "rb") as reader:
        data = reader.read()
    else:
      data = read_bytes(path)
  except OSError as e:
    raise error(f"cannot read {path}: {e.strerror or e}; expected "
                f"{expected}") from e
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise error(f"{path}: not a UTF-8 text file (byte {e.start}); expected "
                f"{expected}") from e
  if not text.strip():
    raise error(f"{path} is empty; expected {expected}")
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise error(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); "
                f"expected {expected}") from e
  except RecursionError as e:  # json's limit on nesting depth.
    raise error(f"{path}: JSON nested too deeply; expected {expected}") from e
