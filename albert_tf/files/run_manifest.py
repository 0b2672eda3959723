"""What made an output directory, so that a different run cannot mix into it.

A run records its settings (config, label set, sequence lengths, tokenizer,
...) in `<output_dir>/<name>.manifest.json` before it writes anything else.
A later run into the same directory (resuming, predicting, exporting) must
have the same settings: one that disagrees is refused, saying which settings
differ, before it writes anything. Otherwise a resumed run with another
label set or max_seq_length would load checkpoints and feature caches made
for a different model and write results that mean nothing.
"""

import json
import logging
import os

from albert_tf import errors
from albert_tf.files.atomic_write import write_text_atomically

SUFFIX = ".manifest.json"


class RunManifestMismatchError(errors.OutputLocationError):
  """The output directory was made by a run with other settings."""

  def __init__(self, message, differences):
    super().__init__(message)
    # {key: (recorded, now)}; a missing side is MISSING.
    self.differences = differences


MISSING = "<not set>"


def manifest_path(output_dir, name="run"):
  return os.path.join(os.fspath(output_dir), name + SUFFIX)


def _normalized(settings):
  """The settings as they read back from JSON (tuples become lists, ...).

  Raises TypeError for values JSON cannot hold: a caller's bug.
  """
  if not isinstance(settings, dict):
    raise TypeError(f"settings must be a dict, got {type(settings).__name__}")
  return json.loads(json.dumps(settings, sort_keys=True))


def read_manifest(output_dir, name="run"):
  """The recorded settings, or None when the directory has no manifest."""
  path = manifest_path(output_dir, name)
  try:
    with open(path, "rb") as f:
      data = f.read()
  except FileNotFoundError:
    return None
  except OSError as e:
    raise errors.OutputLocationError(
        f"cannot read the run manifest {path}: {e.strerror}") from e
  try:
    recorded = json.loads(data.decode("utf-8"))
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise errors.OutputLocationError(
        f"run manifest {path} is damaged (not JSON); delete it only if the "
        "directory's contents were made with the settings of this run") from e
  if not isinstance(recorded, dict):
    raise errors.OutputLocationError(
        f"run manifest {path} is damaged (expected a JSON object)")
  return recorded


def show_value(value):
  """A recorded or current setting as messages show it (JSON, cut short)."""
  text = value if value is MISSING else json.dumps(value, sort_keys=True)
  return text if len(text) <= 200 else text[:197] + "..."


def check_or_record(output_dir, settings, name="run", may_change=(),
                    flag_name=None, warn=logging.warning, record=True):
  """Records `settings` for `output_dir`, or checks them against the record.

  Args:
    output_dir: the run's output directory (created if needed).
    settings: {key: JSON-serialisable value}: everything the directory's
      contents depend on.
    name: which manifest (several tools may share a directory, e.g.
      "finetuning" and "export").
    may_change: keys that may differ from the record (e.g. the number of
      training steps when a run is extended); the record keeps its value.
    flag_name: the flag output_dir came from, for the message.
    warn: called with a warning's text. Keys the record lacks (settings
      added by a newer version) are added to it with a warning.
    record: False only checks (writes nothing): a run that must read its
      inputs before it may write checks first, then records once they read.

  Returns:
    The manifest's path.

  Raises:
    RunManifestMismatchError listing each differing key (recorded vs now),
    before anything is written. OutputLocationError for a damaged manifest.
  """
  settings = _normalized(settings)
  path = manifest_path(output_dir, name)
  recorded = read_manifest(output_dir, name)
  if recorded is None:
    if record:
      write_text_atomically(path, json.dumps(settings, indent=2,
                                             sort_keys=True) + "\n")
    return path
  differences = {}
  for key in sorted(set(recorded) | set(settings)):
    if key in may_change or key not in recorded:
      continue
    now = settings.get(key, MISSING)
    if recorded[key] != now:
      differences[key] = (recorded[key], now)
  if differences:
    where = f"--{flag_name} {output_dir}" if flag_name else str(output_dir)
    listed = "; ".join(f"{key}: {show_value(old)} recorded, {show_value(new)} now"
                       for key, (old, new) in differences.items())
    raise RunManifestMismatchError(
        f"{where} was made by a run with other settings ({listed}); use "
        f"another output directory or the recorded settings (see {path})",
        differences)
  added = sorted(set(settings) - set(recorded))
  if added and record:
    warn(f"{path} did not record {', '.join(added)}; recording them now")
    write_text_atomically(path, json.dumps(dict(recorded, **{
        k: settings[k] for k in added}), indent=2, sort_keys=True) + "\n")
  return path
