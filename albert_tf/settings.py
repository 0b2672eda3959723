"""Typed settings of a job, declared once: defaults, help and flag kind.

Every job (pretraining, a fine-tuning task, an export, data generation)
takes one settings dataclass. Its fields are the single table from which the
command line is generated (albert_tf.cli.flag_table defines one absl flag per
field, with the field's name, default and help), so flags, Python defaults
and help cannot drift apart. Library code only ever sees the dataclass.

  @dataclasses.dataclass
  class ExportSettings:
    checkpoint: str | None = setting(None, "What to export.")
    seq_length: int = setting(128, "Sequence length of the signatures.")
    export_type: str = setting("all", "What to write.",
                               choices=("encoder", "serving", "all"))

  ExportSettings(checkpoint="out")       # from Python
  python -m tool --checkpoint=out        # the same settings from flags
"""

import dataclasses
import typing


def setting(default, help, *, choices=None):  # pylint: disable=redefined-builtin
  """A settings field: its default, its help line and, optionally, choices.

  Mutable defaults (lists) are copied per instance.
  """
  metadata = {"help": help}
  if choices is not None:
    metadata["choices"] = tuple(choices)
  if isinstance(default, list):
    return dataclasses.field(default_factory=lambda: list(default),
                             metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class SettingSpec:
  """One row of a settings table, as the command line needs it."""
  name: str
  kind: str          # "bool", "int", "float", "str", "list" or "enum"
  default: typing.Any
  help: str
  choices: tuple = ()


def _kind(annotation):
  """bool/int/float/str/list from an annotation such as `int | None`."""
  args = [a for a in typing.get_args(annotation) if a is not type(None)]
  base = args[0] if args else annotation
  origin = typing.get_origin(base) or base
  if origin in (list, tuple):
    return "list"
  for kind in (bool, int, float, str):
    if base is kind:
      return kind.__name__
  raise TypeError(f"unsupported settings field type {annotation!r}")


def table(settings_cls):
  """The SettingSpec rows of a settings dataclass, in field order."""
  hints = typing.get_type_hints(settings_cls)
  rows = []
  for field in dataclasses.fields(settings_cls):
    if "help" not in field.metadata:
      continue  # Not a command-line setting (derived or internal).
    if field.default is not dataclasses.MISSING:
      default = field.default
    elif field.default_factory is not dataclasses.MISSING:
      default = field.default_factory()
    else:
      default = None
    choices = field.metadata.get("choices", ())
    kind = "enum" if choices else _kind(hints[field.name])
    rows.append(SettingSpec(field.name, kind, default, field.metadata["help"],
                            choices))
  return rows


def defaults(settings_cls, **values):
  """settings_cls with its defaults and `values` on top (names checked)."""
  known = {field.name for field in dataclasses.fields(settings_cls)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise TypeError(f"{settings_cls.__name__} has no settings {unknown}")
  return settings_cls(**values)
