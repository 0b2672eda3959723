r"""Converts checkpoints between the original TF1 names and our TF2 format.

  python -m albert_tf.convert_checkpoint --albert_config_file=albert_config.json \
      --input=albert_base/model.ckpt-best --output=converted/ckpt \
      --direction=tf1_to_tf2

tf1_to_tf2 reads an original (Google or albert_zh) checkpoint and writes
tf.train.Checkpoint(model=...) of an AlbertPretrainer (or an AlbertEncoder
when the checkpoint has no pretraining heads). tf2_to_tf1 writes the original
variable names back, readable by the original code and other TF1 loaders.

--output_format=tf1|tf2|hf instead of --direction detects the input's
format (TF1, TF2 or a Hugging Face directory) and writes the one asked for;
hf writes a directory transformers and keras-hub load, with the tokenizer
given by --spm_model_file or --vocab_file. A Hugging Face input needs no
--albert_config_file (its config.json is the config):

  python -m albert_tf.convert_checkpoint --albert_config_file=albert_config.json \
      --input=albert_base/model.ckpt-best --output=albert_base_hf \
      --output_format=hf --spm_model_file=albert_base/30k-clean.model
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import dataclasses
import os

from absl import app
from absl import flags
import tensorflow as tf

from albert_tf.checkpoints import format_conversion
from albert_tf.checkpoints import tf1_checkpoint
from albert_tf.checkpoints import tf2_checkpoint
from albert_tf.cli import flag_table
from albert_tf import files
from albert_tf.files import atomic_directory
from albert_tf.files import output_lock
from albert_tf.config import AlbertConfig
from albert_tf.config import FLAVOR_ALBERT_ZH
from albert_tf.errors import FlagError
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
from albert_tf.settings import setting

FLAGS = flags.FLAGS
DIRECTIONS = ("tf1_to_tf2", "tf2_to_tf1")


@dataclasses.dataclass
class ConversionSettings:
  albert_config_file: str | None = setting(
      None, "The albert_config.json the checkpoint was trained with.")
  input: str | None = setting(None, "Checkpoint prefix or directory to read.")
  output: str | None = setting(None, "Checkpoint prefix to write.")
  direction: str | None = setting(
      None, "Which way to convert (or use --output_format).",
      choices=DIRECTIONS)
  overwrite: bool = setting(False, "Replace an existing output checkpoint.")
  output_format: str | None = setting(
      None, "Write this format; the input's (TF1, TF2 or a Hugging Face "
      "directory) is detected.", choices=format_conversion.FORMATS)
  spm_model_file: str | None = setting(
      None, "SentencePiece model to put into an hf output.")
  vocab_file: str | None = setting(
      None, "WordPiece vocabulary to put into an hf output.")
  do_lower_case: bool = setting(
      True, "Written to an hf output's tokenizer_config.json.")


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flag_table.define_flags(ConversionSettings)


def _has_heads(shapes, tf2):
  if tf2:
    return any(n.startswith("model/masked_lm/") for n in shapes)
  return any(n.startswith("cls/") for n in shapes)


def _is_albert_zh(shapes, tf2):
  if tf2:
    return any("/word_embeddings_2/" in n for n in shapes)
  return tf1_checkpoint.detect_flavor(shapes) == FLAVOR_ALBERT_ZH


def convert(config, input_path, output_path, direction):
  """Converts one checkpoint; returns (model class name, report lines)."""
  _, _, shapes = tf1_checkpoint.checkpoint_shapes(input_path)
  is_tf2 = tf1_checkpoint.OBJECT_GRAPH_KEY in shapes
  if direction == "tf1_to_tf2" and is_tf2:
    raise FlagError(f"--input {input_path} is already a TF2 checkpoint")
  if direction == "tf2_to_tf1" and not is_tf2:
    raise FlagError(f"--input {input_path} is an original TF1 checkpoint, "
                     "not a TF2 one; use --direction=tf1_to_tf2")
  if config.ln_type is None and _is_albert_zh(shapes, is_tf2):
    # Early brightmart configs have no ln_type; their code then runs post-LN.
    config = config.replace(ln_type="postln")
  model_cls = AlbertPretrainer if _has_heads(shapes, is_tf2) else AlbertEncoder
  model = model_cls(config)
  if direction == "tf1_to_tf2":
    report = tf1_checkpoint.load_tf1_checkpoint(model, input_path)
    tf2_checkpoint.save_tf2_checkpoint(model, output_path)
    lines = str(report).splitlines()
  else:
    tf2_checkpoint.load_tf2_checkpoint(model, input_path)
    tf1_checkpoint.save_tf1_checkpoint(model, output_path)
    lines = [f"loaded {len(model.weights)} variables from {input_path}"]
  return model_cls.__name__, lines


def run_output_format(settings, log=print):
  """--output_format: the detected input written as the format asked for;
  returns the written path."""
  for name in ("input", "output"):
    if not getattr(settings, name):
      raise FlagError(f"--{name} is required")
  if settings.direction:
    raise FlagError("pass --direction or --output_format, not both")
  # Where the output goes is checked before the (slow) conversion.
  if settings.output_format == format_conversion.FORMAT_HF:
    files.check_output_dir(settings.output, "output")
    # An existing directory: replaceable only when it is ours (and this
    # user can remove it), known before the conversion.
    atomic_directory.check_absent(settings.output, settings.overwrite)
  else:
    files.check_output_file(settings.output, "output")
  if (settings.output_format != format_conversion.FORMAT_HF and
      tf.io.gfile.exists(settings.output + ".index") and
      not settings.overwrite):
    raise FlagError(f"--output {settings.output} already exists; pass "
                    "--overwrite to replace it")
  model, input_format, lines = format_conversion.convert(
      settings.input, settings.output, settings.output_format,
      config=format_conversion.config_for(settings.albert_config_file),
      tokenizer=format_conversion.TokenizerFiles(
          settings.spm_model_file, settings.vocab_file,
          settings.do_lower_case),
      overwrite=settings.overwrite)
  for line in lines:
    log(line)
  log(f"wrote {settings.output_format.upper()} {type(model).__name__} (from "
      f"{input_format.upper()}) to {os.path.abspath(settings.output)}")
  return settings.output


def run(settings, log=print):
  """Checks the settings and converts; returns the written prefix."""
  if settings.output_format:
    return run_output_format(settings, log)
  for name in ("albert_config_file", "input", "output", "direction"):
    if not getattr(settings, name):
      raise FlagError(f"--{name} is required")
  files.check_output_file(settings.output, "output")
  if tf.io.gfile.exists(settings.output + ".index") and not settings.overwrite:
    raise FlagError(f"--output {settings.output} already exists; pass "
                    "--overwrite to replace it")
  config = AlbertConfig.from_json_file(settings.albert_config_file)
  model_name, lines = convert(config, settings.input, settings.output,
                              settings.direction)
  for line in lines:
    log(line)
  log(f"wrote {settings.direction.split('_to_')[1].upper()} checkpoint of an "
      f"{model_name} to {os.path.abspath(settings.output)}")
  return settings.output


def run_locked(settings, log=print):
  """run(), holding the output's lock: an export, or another conversion, to
  the same path is refused instead of interleaving with this one. The
  output (a checkpoint prefix or an hf directory) appears by renames in its
  parent directory, so it is locked there, under its name, as
  tfhub_export.export locks its --export_path."""
  if not settings.output or "://" in settings.output:
    return run(settings, log)  # Object stores have no file locks.
  output = os.path.abspath(settings.output)
  parent = os.path.dirname(output)
  made_parent = not os.path.exists(parent)
  try:
    with files.lock_output_dir(
        parent, flag_name="output",
        lock_filename=output_lock.lock_filename_for(os.path.basename(output))):
      return run(settings, log)
  except Exception:
    # A refused conversion leaves nothing, not even the folder the lock
    # needed (removed only when empty: nothing of anyone else's goes).
    if made_parent:
      try:
        os.rmdir(parent)
      except OSError:
        pass
    raise


def main(argv):
  return flag_table.run_job(
      lambda: run_locked(flag_table.settings_from_flags(ConversionSettings)),
      argv)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=flag_table.parse_flags)
