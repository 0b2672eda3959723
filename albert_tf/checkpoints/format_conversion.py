"""Converting a model between the three formats albert_tf reads and writes.

- "tf1": an original name-based checkpoint (Google's or albert_zh's names),
- "tf2": one of our object-based checkpoints (tf.train.Checkpoint),
- "hf":  a Hugging Face ALBERT directory (config.json, model.safetensors).

The input's format is detected. The model is an AlbertPretrainer when the
input has the pretraining heads, else an AlbertEncoder (a fine-tuned HF
model's task head has no TF1/TF2 pretraining name and is left out, which the
report says).
"""

import dataclasses
import os

from albert_tf.checkpoints import hf_checkpoint
from albert_tf.checkpoints import hf_config
from albert_tf.checkpoints import hf_export
from albert_tf.checkpoints import tf1_checkpoint
from albert_tf.checkpoints import tf2_checkpoint
from albert_tf.config import AlbertConfig
from albert_tf.config import FLAVOR_ALBERT_ZH
from albert_tf.errors import CheckpointError
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer

FORMAT_TF1 = "tf1"
FORMAT_TF2 = "tf2"
FORMAT_HF = "hf"
FORMATS = (FORMAT_TF1, FORMAT_TF2, FORMAT_HF)


@dataclasses.dataclass
class TokenizerFiles:
  """The tokenizer to put into an HF directory (either file, or none)."""
  spm_model_file: str = None
  vocab_file: str = None
  do_lower_case: bool = True


def detect_format(path):
  """"hf", "tf2" or "tf1" for the model at `path`."""
  if hf_checkpoint.is_hf_directory(path):
    return FORMAT_HF
  _, _, shapes = tf1_checkpoint.checkpoint_shapes(path)
  if tf1_checkpoint.OBJECT_GRAPH_KEY in shapes:
    return FORMAT_TF2
  return FORMAT_TF1


def _checkpoint_model(config, path, input_format):
  """The model class (and config) a TF1/TF2 checkpoint holds."""
  _, _, shapes = tf1_checkpoint.checkpoint_shapes(path)
  if input_format == FORMAT_TF2:
    has_heads = any(n.startswith("model/masked_lm/") for n in shapes)
    is_zh = any("/word_embeddings_2/" in n for n in shapes)
  else:
    has_heads = any(n.startswith("cls/") for n in shapes)
    is_zh = tf1_checkpoint.detect_flavor(shapes) == FLAVOR_ALBERT_ZH
  if config.ln_type is None and is_zh:
    # Early brightmart configs have no ln_type; their code then runs post-LN.
    config = config.replace(ln_type="postln")
  return (AlbertPretrainer if has_heads else AlbertEncoder)(config)


def load_model(path, config=None):
  """(model, input format, report lines) for the model at `path`.

  config: an AlbertConfig, required for TF1/TF2 inputs; an HF directory
  brings its own (a given one must agree with it).
  """
  input_format = detect_format(path)
  if input_format == FORMAT_HF:
    if config is None:
      config = hf_checkpoint.read_hf_config(path)
    _, tensors = hf_checkpoint.read_hf_tensors(path)
    has_heads = "predictions.bias" in tensors
    model = (AlbertPretrainer if has_heads else AlbertEncoder)(config)
    report = hf_checkpoint.load_hf_checkpoint(model, path)
    return model, input_format, str(report).splitlines()
  if config is None:
    raise CheckpointError(
        f"{path} is a {input_format.upper()} checkpoint: pass the "
        "albert_config.json it was trained with")
  model = _checkpoint_model(config, path, input_format)
  if input_format == FORMAT_TF2:
    tf2_checkpoint.load_tf2_checkpoint(model, path)
    lines = [f"loaded {len(model.weights)} variables from {path}"]
  else:
    lines = str(tf1_checkpoint.load_tf1_checkpoint(model, path)).splitlines()
  return model, input_format, lines


def write_model(model, output, output_format, tokenizer=None,
                overwrite=False):
  """Writes `model` as `output_format` at `output`; returns the path."""
  if output_format == FORMAT_HF:
    tokenizer = tokenizer or TokenizerFiles()
    return hf_export.save_hf_directory(
        model, output, spm_model_file=tokenizer.spm_model_file,
        vocab_file=tokenizer.vocab_file,
        do_lower_case=tokenizer.do_lower_case, overwrite=overwrite)
  if output_format == FORMAT_TF2:
    return tf2_checkpoint.save_tf2_checkpoint(model, output)
  if output_format == FORMAT_TF1:
    return tf1_checkpoint.save_tf1_checkpoint(model, output)
  raise ValueError(f"unknown output format {output_format!r}; expected one "
                   f"of {', '.join(FORMATS)}")


def convert(input_path, output_path, output_format, config=None,
            tokenizer=None, overwrite=False):
  """Reads the model at `input_path`, writes it as `output_format`.

  Returns (model, input format, report lines). For TF1/TF2 outputs from an
  HF directory, the model's albert_config.json is written beside the
  checkpoint (when none is there yet): those formats carry no config.
  """
  if output_format not in FORMATS:
    raise ValueError(f"unknown output format {output_format!r}; expected "
                     f"one of {', '.join(FORMATS)}")
  if output_format == FORMAT_HF and config is not None and (
      config.flavor == FLAVOR_ALBERT_ZH):
    # Said before anything is read: the answer would be the same after.
    hf_config.hf_config_from_albert(config, "AlbertModel")
  model, input_format, lines = load_model(input_path, config)
  if input_format == output_format:
    raise CheckpointError(f"{input_path} is already in the {output_format} "
                          "format")
  written = write_model(model, output_path, output_format, tokenizer,
                        overwrite)
  if input_format == FORMAT_HF and output_format != FORMAT_HF:
    config_path = os.path.join(os.path.dirname(os.path.abspath(written)),
                               "albert_config.json")
    if not os.path.exists(config_path):
      model.config.to_json_file(config_path)
      lines.append(f"wrote {config_path}")
  return model, input_format, lines


def config_for(albert_config_file):
  """The AlbertConfig of a file, or None when no file is given."""
  if not albert_config_file:
    return None
  return AlbertConfig.from_json_file(albert_config_file)
