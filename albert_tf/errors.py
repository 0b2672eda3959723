"""The one base class of errors that are the user's to fix.

Entry points catch `UserError` (and nothing broader) and print its message
as a single `error: ...` line with exit status 1. Every other exception is a
programming error and keeps its traceback.

A user error's message names the file, flag or tensor at fault, what was
found and what was expected. Subclasses say where the mistake was found;
they also derive from the built-in class a caller would expect
(ValueError, FileNotFoundError, ...), so `except ValueError` keeps working.
"""


class UserError(Exception):
  """Bad input: a flag, a file, a config key, a checkpoint, a record."""


class FlagError(UserError, ValueError):
  """A flag is missing, out of range, or contradicts another flag."""


class InputFileError(UserError, ValueError):
  """An input file is missing, unreadable, or not in the expected format."""


class OutputLocationError(UserError, OSError):
  """An output location cannot be written, or belongs to another run."""


class ConfigError(InputFileError):
  """An ALBERT config file is unreadable, malformed, or misses a key."""


class AlbertConfigError(ConfigError):
  """An ALBERT config is malformed; the message names the key and the source.

  Defined here rather than in config.py so that hf_config_keys.py, which
  config.py imports, can raise it too."""


class CheckpointError(UserError, ValueError):
  """A checkpoint is missing, damaged, or does not fit the model."""


class MissingExtraError(UserError, ImportError):
  """A feature needs an optional extra (pip install 'albert_tf[...]')."""


class MissingInputError(UserError, FileNotFoundError):
  """A named input (file, directory, checkpoint) does not exist."""


class OutputExistsError(UserError, FileExistsError):
  """An output already exists and overwriting was not asked for."""
