"""absl flags generated from a settings dataclass (albert_tf.settings).

An entry point is three lines:

  define_flags(PretrainingSettings)
  def main(argv): return run_job(lambda: run(settings_from_flags(...)), argv)
  app.run(main, flags_parser=parse_flags)

Flag names, defaults and help come from the dataclass fields, so the command
line and the Python API are the same table. Required settings are checked by
the job itself (a FlagError naming the flag), not by absl, so a missing flag
is one `error:` line instead of the whole usage text.
"""

import dataclasses
import sys

from absl import flags
from absl import logging

from albert_tf import settings as settings_lib
from albert_tf.cli import log_verbosity
from albert_tf.errors import UserError
from albert_tf.files import disk_full

FLAGS = flags.FLAGS


def define_flags(settings_cls, flag_values=FLAGS, **overrides):
  """One absl flag per settings field; `overrides` change defaults."""
  for row in settings_lib.table(settings_cls):
    default = overrides.get(row.name, row.default)
    if row.name in flag_values:
      continue  # Defined by an earlier table (shared fields).
    kwargs = {"flag_values": flag_values}
    if row.kind == "bool":
      flags.DEFINE_bool(row.name, default, row.help, **kwargs)
    elif row.kind == "int":
      flags.DEFINE_integer(row.name, default, row.help, **kwargs)
    elif row.kind == "float":
      flags.DEFINE_float(row.name, default, row.help, **kwargs)
    elif row.kind == "list":
      flags.DEFINE_list(row.name, default, row.help, **kwargs)
    elif row.kind == "enum":
      flags.DEFINE_enum(row.name, default, list(row.choices), row.help,
                        **kwargs)
    else:
      flags.DEFINE_string(row.name, default, row.help, **kwargs)


def settings_from_flags(settings_cls, flag_values=FLAGS, **fixed):
  """The settings the parsed flags describe (`fixed` values win)."""
  names = {field.name for field in dataclasses.fields(settings_cls)}
  values = {row.name: flag_values[row.name].value
            for row in settings_lib.table(settings_cls)
            if row.name in flag_values}
  values.update(fixed)
  return settings_cls(**{k: v for k, v in values.items() if k in names})


def settings_from_flagfile(settings_cls, flagfile):
  """The settings a flagfile's lines describe over the flag defaults, read
  into flag values of their own (the process's flags are not touched), for
  library code that ships a flagfile (the quick start's tiny pretraining)."""
  values = flags.FlagValues()
  define_flags(settings_cls, values)
  values(["flagfile", f"--flagfile={flagfile}"])
  return settings_from_flags(settings_cls, values)


def parse_flags(argv, flag_values=FLAGS, known_only=False):
  """absl's flags parser, with a bad flag (unknown name, value not one of
  the choices, not a number) as one `error:` line and exit status 1.

  Pass as app.run(main, flags_parser=parse_flags). absl's own parser
  prints "FATAL Flags parsing error" and a hint over two lines.
  """
  try:
    return flag_values(argv, known_only=known_only)
  except flags.Error as e:
    message = " ".join(str(e).split())  # Multi-line messages on one line.
    print(f"error: {message} (--helpshort lists the flags)", file=sys.stderr,
          flush=True)
    sys.exit(1)


def report_user_error(error):
  """Prints a UserError as the one `error:` line users see."""
  logging.debug("user error", exc_info=error)
  message = str(error).strip() or error.__class__.__name__
  print(f"error: {message}", file=sys.stderr, flush=True)


def run_job(job, argv=None):
  """Runs job(); a UserError (or a full disk) becomes `error: ...` and exit
  status 1.

  The absl log stays at WARNING, with progress lines on stdout, unless
  --verbosity was given (cli/log_verbosity.py).

  Anything else is a programming error and keeps its traceback.
  """
  if argv is not None and len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]} (flags are written "
          "--name=value)", file=sys.stderr)
    return 2
  try:
    with log_verbosity.tool_verbosity(FLAGS):
      result = job()
  except UserError as e:
    report_user_error(e)
    return 1
  except Exception as e:  # pylint: disable=broad-except
    # A full disk is the machine's fault, not the program's: one line naming
    # the path, wherever the write was (the writer has cleaned up).
    if not disk_full.is_disk_full(e):
      raise
    report_user_error(disk_full.disk_full_error(None, e))
    return 1
  return result if isinstance(result, int) else 0
