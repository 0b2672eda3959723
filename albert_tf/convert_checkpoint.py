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

import os
import sys

from absl import app
from absl import flags
import tensorflow as tf

from albert_tf.checkpoints import tf1_checkpoint
from albert_tf.checkpoints import tf2_checkpoint
from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.config import FLAVOR_ALBERT_ZH
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer

FLAGS = flags.FLAGS


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flags.DEFINE_string("albert_config_file", None,
                      "The albert_config.json the checkpoint was trained with.")
  flags.DEFINE_string("input", None, "Checkpoint prefix or directory to read.")
  flags.DEFINE_string("output", None, "Checkpoint prefix to write.")
  flags.DEFINE_enum("direction", None, ["tf1_to_tf2", "tf2_to_tf1"],
                    "Which way to convert.")
  flags.DEFINE_bool("overwrite", False,
                    "Replace an existing output checkpoint.")


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
    raise ValueError(f"--input {input_path} is already a TF2 checkpoint")
  if direction == "tf2_to_tf1" and not is_tf2:
    raise ValueError(f"--input {input_path} is an original TF1 checkpoint, "
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


def main(argv):
  del argv
  for name in ("albert_config_file", "input", "output", "direction"):
    if not FLAGS[name].value:
      raise app.UsageError(f"--{name} is required")
  if tf.io.gfile.exists(FLAGS.output + ".index") and not FLAGS.overwrite:
    print(f"error: --output {FLAGS.output} already exists; pass --overwrite "
          "to replace it", file=sys.stderr)
    return 1
  try:
    config = AlbertConfig.from_json_file(FLAGS.albert_config_file)
    model_name, lines = convert(config, FLAGS.input, FLAGS.output,
                                FLAGS.direction)
  except (AlbertConfigError, ValueError, FileNotFoundError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  for line in lines:
    print(line)
  print(f"wrote {FLAGS.direction.split('_to_')[1].upper()} checkpoint of an "
        f"{model_name} to {os.path.abspath(FLAGS.output)}")
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
