r"""Converts checkpoints between the original TF1 names and our TF2 format.

  python -m albert_tf.convert_checkpoint --albert_config_file=albert_config.json \
      --input=albert_base/model.ckpt-best --output=converted/ckpt \
      --direction=tf1_to_tf2

tf1_to_tf2 reads an original (Google or albert_zh) checkpoint and writes
tf.train.Checkpoint(model=...) of an AlbertPretrainer (or an AlbertEncoder
when the checkpoint has no pretraining heads). tf2_to_tf1 writes the original
variable names back, readable by the original code and other TF1 loaders.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import dataclasses
import os

from absl import app
from absl import flags
import tensorflow as tf

from albert_tf.checkpoints import tf1_checkpoint
from albert_tf.checkpoints import tf2_checkpoint
from albert_tf.cli import flag_table
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
  direction: str | None = setting(None, "Which way to convert.",
                                  choices=DIRECTIONS)
  overwrite: bool = setting(False, "Replace an existing output checkpoint.")


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


def run(settings, log=print):
  """Checks the settings and converts; returns the written prefix."""
  for name in ("albert_config_file", "input", "output", "direction"):
    if not getattr(settings, name):
      raise FlagError(f"--{name} is required")
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


def main(argv):
  return flag_table.run_job(
      lambda: run(flag_table.settings_from_flags(ConversionSettings)), argv)


if __name__ == "__main__":
  define_flags()
  app.run(main)
