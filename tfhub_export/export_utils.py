"""Pieces every exporter shares: the model from a checkpoint, the tokenizer,
and writing an export directory so that it appears only once complete."""

import dataclasses
import os

from sentencepiece import sentencepiece_model_pb2
import tensorflow as tf

from albert_tf import tokenization
from albert_tf.checkpoints import hf_checkpoint
from albert_tf.checkpoints import tf1_checkpoint
from albert_tf.checkpoints import tf2_checkpoint
from albert_tf.config import AlbertConfig
from albert_tf.files import atomic_directory as atomic_directory_lib
from albert_tf.errors import UserError
from albert_tf.config import FLAVOR_ALBERT_ZH
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer

# The encoder input signature every export uses: int32 [batch, seq].
INPUT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")


class ExportError(UserError, ValueError):
  """User input an export cannot be made from; the message says why."""


def set_untracked(obj, name, value):
  """Sets obj.name without making `value` part of the saved object graph.

  For the signatures dict: it goes to tf.saved_model.save(signatures=...);
  tracked as an attribute too, every function in it would be saved twice.
  """
  obj.__dict__[name] = value


def input_specs(keys=INPUT_KEYS):
  return {k: tf.TensorSpec([None, None], tf.int32, name=k) for k in keys}


@dataclasses.dataclass
class LoadedModel:
  """An AlbertPretrainer with its checkpoint's weights."""
  pretrainer: AlbertPretrainer
  has_heads: bool  # False: only the encoder was in the checkpoint.
  report: str


def _checkpoint_has_heads(shapes, is_tf2):
  if is_tf2:
    return any(n.startswith("model/masked_lm/") for n in shapes)
  return any(n.startswith("cls/") for n in shapes)


def load_model(config, checkpoint):
  """Builds an AlbertPretrainer from `config` and loads `checkpoint` into it.

  Args:
    config: an AlbertConfig or the path of an albert_config.json.
    checkpoint: an original TF1 checkpoint (prefix or directory) or one of
      albert_tf's TF2 checkpoints (of an encoder or a pretrainer).

  Returns:
    A LoadedModel. When the checkpoint has no pretraining heads, only the
    encoder holds checkpoint weights and `has_heads` is False.

  Raises:
    albert_tf.checkpoints.CheckpointMismatchError (missing or mis-shaped
    variables, flavor mismatch), FileNotFoundError, AlbertConfigError.
  """
  if not isinstance(config, AlbertConfig):
    config = AlbertConfig.from_json_file(config)
  if hf_checkpoint.is_hf_directory(checkpoint):
    return _load_hf_model(config, checkpoint)
  _, _, shapes = tf1_checkpoint.checkpoint_shapes(checkpoint)
  is_tf2 = tf1_checkpoint.OBJECT_GRAPH_KEY in shapes
  if (not is_tf2 and config.ln_type is None and
      tf1_checkpoint.detect_flavor(shapes) == FLAVOR_ALBERT_ZH):
    # Early brightmart configs have no ln_type; their code runs post-LN.
    config = config.replace(ln_type="postln")
  has_heads = _checkpoint_has_heads(shapes, is_tf2)
  pretrainer = AlbertPretrainer(config)
  target = pretrainer if has_heads else pretrainer.encoder
  if is_tf2:
    prefix = tf2_checkpoint.load_tf2_checkpoint(target, checkpoint)
    report = f"loaded {len(target.weights)} variables from {prefix}"
  else:
    report = str(tf1_checkpoint.load_tf1_checkpoint(target, checkpoint))
  if not has_heads:
    report += ("\nthe checkpoint has no pretraining heads (cls/...): the "
               "encoder export has no mlm/sop parts")
  return LoadedModel(pretrainer=pretrainer, has_heads=has_heads,
                     report=report)


def _load_hf_model(config, directory):
  """load_model for a Hugging Face directory (heads when it has them)."""
  _, tensors = hf_checkpoint.read_hf_tensors(directory)
  has_heads = "predictions.bias" in tensors
  pretrainer = AlbertPretrainer(config)
  target = pretrainer if has_heads else pretrainer.encoder
  report = str(hf_checkpoint.load_hf_checkpoint(target, directory))
  if not has_heads:
    report += ("\nthe checkpoint has no pretraining heads (predictions.*): "
               "the encoder export has no mlm/sop parts")
  return LoadedModel(pretrainer=pretrainer, has_heads=has_heads,
                     report=report)


@dataclasses.dataclass
class TokenizerSpec:
  """Which tokenizer file an export bundles."""
  spm_model_file: str = None
  vocab_file: str = None
  do_lower_case: bool = True

  def __post_init__(self):
    if bool(self.spm_model_file) == bool(self.vocab_file):
      raise ExportError("pass exactly one of spm_model_file (SentencePiece) "
                        "and vocab_file (WordPiece)")
    path = self.path
    if not os.path.isfile(path):
      raise ExportError(f"tokenizer file {path} does not exist")

  @property
  def path(self):
    return self.spm_model_file or self.vocab_file

  @property
  def is_sentencepiece(self):
    return bool(self.spm_model_file)

  def graph_tokenizer(self, vocab_size=None):
    """The in-graph tokenizer; checks its ids fit a model's vocabulary."""
    try:
      tokenizer = tokenization.make_graph_tokenizer(
          vocab_file=self.vocab_file, spm_model_file=self.spm_model_file,
          do_lower_case=self.do_lower_case)
    except (OSError, RuntimeError, ValueError) as e:
      raise ExportError(f"cannot read tokenizer {self.path}: {e}") from e
    if vocab_size is not None and tokenizer.vocab_size > vocab_size:
      raise ExportError(
          f"tokenizer {self.path} has {tokenizer.vocab_size} tokens but the "
          f"model's vocab_size is {vocab_size}: its ids would fall outside "
          "the embedding table (wrong tokenizer for this config?)")
    return tokenizer

  def asset(self, directory):
    """The tokenizer file as a SavedModel asset (copied into assets/).

    A SentencePiece model records where it was trained (trainer_spec.input,
    trainer_spec.model_prefix, e.g. /home/me/corpus.txt); the asset is a
    copy without those paths, made in `directory` (which must outlive the
    save). Tokenization does not read them.
    """
    if not self.is_sentencepiece:
      return tf.saved_model.Asset(self.path)
    proto = sentencepiece_model_pb2.ModelProto()
    with open(self.path, "rb") as f:
      proto.ParseFromString(f.read())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = os.path.basename(
        proto.trainer_spec.model_prefix)
    copy = os.path.join(directory, os.path.basename(self.path))
    with open(copy, "wb") as f:
      f.write(proto.SerializeToString())
    return tf.saved_model.Asset(copy)


# One implementation for every directory written whole (exports, HF
# directories); kept under these names for the exporters.
check_absent = atomic_directory_lib.check_absent
atomic_directory = atomic_directory_lib.directory_written_atomically


def save_module(module, path, signatures=None, overwrite=False):
  """tf.saved_model.save into `path`, atomically; returns `path`."""
  with atomic_directory(path, overwrite) as staging:
    tf.saved_model.save(module, staging, signatures=signatures)
  return os.path.abspath(path)
