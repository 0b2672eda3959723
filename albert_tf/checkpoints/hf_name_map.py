"""The ordered map between transformers' ALBERT tensor names and our variables.

One map serves both directions: reading an HF directory assigns each named
tensor to its variable, writing one stores each variable under its name.
torch's Linear keeps its weight [out, in], our Dense kernels are [in, out]:
entries marked `transpose` are transposed on the way through. Embedding
tables, LayerNorms, biases and the [classes, H] heads (SOP, SQuAD) share the
layout already.

Two kinds of entries have no variable of their own:
- `embedding_hidden_mapping_in` when embedding_size == hidden_size: the
  original graph has no projection then, transformers always has one. It is
  written as the identity and must be the identity when read.
- tied copies transformers may save twice (the MLM decoder's bias is the
  head's bias): optional when read, written so every loader finds them.
"""

import collections
import dataclasses

import numpy as np

from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
from albert_tf.modeling.layers.build_utils import build_in_scope

# The prefix of the encoder's tensors in every transformers class with a head.
ENCODER_PREFIX = "albert."

# (HF name under a layer's prefix, attribute path in TransformerBlock,
# transpose). Order: as transformers defines them.
_BLOCK_NAMES = (
    ("attention.query.weight", "attention.query.kernel", True),
    ("attention.query.bias", "attention.query.bias", False),
    ("attention.key.weight", "attention.key.kernel", True),
    ("attention.key.bias", "attention.key.bias", False),
    ("attention.value.weight", "attention.value.kernel", True),
    ("attention.value.bias", "attention.value.bias", False),
    ("attention.dense.weight", "attention_output_dense.kernel", True),
    ("attention.dense.bias", "attention_output_dense.bias", False),
    ("attention.LayerNorm.weight", "attention_layer_norm.gamma", False),
    ("attention.LayerNorm.bias", "attention_layer_norm.beta", False),
    ("ffn.weight", "intermediate_dense.kernel", True),
    ("ffn.bias", "intermediate_dense.bias", False),
    ("ffn_output.weight", "output_dense.kernel", True),
    ("ffn_output.bias", "output_dense.bias", False),
    ("full_layer_layer_norm.weight", "output_layer_norm.gamma", False),
    ("full_layer_layer_norm.bias", "output_layer_norm.beta", False),
)
# AlbertForPreTraining / AlbertForMaskedLM: the MLM head (`predictions`).
_MLM_NAMES = (
    ("predictions.bias", "masked_lm.output_bias", False),
    ("predictions.dense.weight", "masked_lm.transform.kernel", True),
    ("predictions.dense.bias", "masked_lm.transform.bias", False),
    ("predictions.LayerNorm.weight", "masked_lm.layer_norm.gamma", False),
    ("predictions.LayerNorm.bias", "masked_lm.layer_norm.beta", False),
)
# AlbertForPreTraining's sentence-order head.
_SOP_NAMES = (
    ("sop_classifier.classifier.weight", "sentence_order.output_weights",
     False),
    ("sop_classifier.classifier.bias", "sentence_order.output_bias", False),
)

# Which part of the model an entry belongs to: the loader reports a head
# that is absent as a whole (AlbertForMaskedLM has no SOP head).
PART_ENCODER = "encoder"
# transformers builds ForMaskedLM, ForTokenClassification and
# ForQuestionAnswering without the pooler.
PART_POOLER = "pooler"
PART_MLM = "mlm_head"
PART_SOP = "sop_head"
PART_TASK = "task_head"


@dataclasses.dataclass(frozen=True)
class HfEntry:
  """One tensor of an HF checkpoint and where it lives in our model."""
  variable: object  # tf.Variable, or None for a constant entry.
  transpose: bool = False
  part: str = PART_ENCODER
  # For entries without a variable: the value it must have.
  constant: np.ndarray = None
  # A tied copy of another entry's variable: optional when read.
  alias: bool = False

  def value(self):
    """The numpy value to write."""
    if self.variable is None:
      return self.constant
    value = self.variable.numpy()
    return value.T if self.transpose else value


def _attribute(obj, path):
  for part in path.split("."):
    obj = getattr(obj, part)
  return obj


def _encoder_map(encoder, prefix, pooler_part=PART_POOLER):
  """The entries of AlbertModel (Google flavor) under `prefix`.

  pooler_part: PART_ENCODER where the model's outputs need the pooler.
  """
  names = collections.OrderedDict()
  config = encoder.config
  emb = encoder.embeddings
  names[prefix + "embeddings.word_embeddings.weight"] = HfEntry(
      emb.word_embeddings)
  names[prefix + "embeddings.position_embeddings.weight"] = HfEntry(
      emb.position_embeddings)
  names[prefix + "embeddings.token_type_embeddings.weight"] = HfEntry(
      emb.token_type_embeddings)
  names[prefix + "embeddings.LayerNorm.weight"] = HfEntry(emb.layer_norm.gamma)
  names[prefix + "embeddings.LayerNorm.bias"] = HfEntry(emb.layer_norm.beta)
  mapping = prefix + "encoder.embedding_hidden_mapping_in."
  if encoder.embedding_hidden_mapping_in is not None:
    names[mapping + "weight"] = HfEntry(
        encoder.embedding_hidden_mapping_in.kernel, transpose=True)
    names[mapping + "bias"] = HfEntry(encoder.embedding_hidden_mapping_in.bias)
  else:
    names[mapping + "weight"] = HfEntry(
        None, constant=np.eye(config.hidden_size, dtype=np.float32))
    names[mapping + "bias"] = HfEntry(
        None, constant=np.zeros([config.hidden_size], np.float32))
  for g, group in enumerate(encoder.groups):
    for m, block in enumerate(group.inner_groups):
      scope = (f"{prefix}encoder.albert_layer_groups.{g}.albert_layers.{m}.")
      for suffix, path, transpose in _BLOCK_NAMES:
        names[scope + suffix] = HfEntry(_attribute(block, path), transpose)
  names[prefix + "pooler.weight"] = HfEntry(encoder.pooler.kernel, True,
                                            pooler_part)
  names[prefix + "pooler.bias"] = HfEntry(encoder.pooler.bias,
                                          part=pooler_part)
  return names


def _head_entries(model, table, part):
  return collections.OrderedDict(
      (name, HfEntry(_attribute(model, path), transpose, part))
      for name, path, transpose in table)


def _dense_head(dense, name):
  """A Linear head `name` (classifier, qa_outputs) over a Keras Dense."""
  return collections.OrderedDict((
      (name + ".weight", HfEntry(dense.kernel, True, PART_TASK)),
      (name + ".bias", HfEntry(dense.bias, False, PART_TASK)),
  ))


def _task_head(model):
  """(transformers class, head entries, whether the head reads the pooler)
  of a fine-tuning model."""
  # Imported here: the task modules import albert_tf.checkpoints.
  # pylint: disable=g-import-not-at-top
  from albert_tf.tasks.classifier_model import ClassifierModel
  from albert_tf.tasks.multiple_choice_model import MultipleChoiceModel
  from albert_tf.tasks.squad.heads import SquadV1Head
  from albert_tf.tasks.squad.model import SquadModel
  from albert_tf.tasks.token_classifier_model import TokenClassifierModel
  # pylint: enable=g-import-not-at-top
  if isinstance(model, ClassifierModel):
    return ("AlbertForSequenceClassification",
            _dense_head(model.classifier, "classifier"), True)
  if isinstance(model, TokenClassifierModel):
    return ("AlbertForTokenClassification",
            _dense_head(model.classifier, "classifier"), False)
  if isinstance(model, MultipleChoiceModel):
    return ("AlbertForMultipleChoice",
            _dense_head(model.scorer, "classifier"), True)
  if isinstance(model, SquadModel) and isinstance(model.head, SquadV1Head):
    head = model.head
    if not head.built:
      build_in_scope(head, [None, None, model.config.hidden_size])
    return ("AlbertForQuestionAnswering", collections.OrderedDict((
        ("qa_outputs.weight", HfEntry(head.output_weights, False,
                                      PART_TASK)),
        ("qa_outputs.bias", HfEntry(head.output_bias, False, PART_TASK)),
    )), False)
  raise TypeError(
      f"{type(model).__name__} has no transformers counterpart (expected an "
      "AlbertEncoder, AlbertPretrainer, ClassifierModel, "
      "TokenClassifierModel, MultipleChoiceModel or a SQuAD v1 SquadModel)")


def model_config(model):
  """The AlbertConfig of any of our models (task models hold an encoder)."""
  config = getattr(model, "config", None)
  return config if config is not None else model.encoder.config


def hf_variable_map(model, encoder_prefix=None):
  """(transformers class, OrderedDict: HF tensor name → HfEntry).

  encoder_prefix: the encoder's name prefix, "albert." by default (what
  every class with a head uses); AlbertModel's own files may have none.
  """
  # AlbertModel is written with the prefix too: transformers strips it, and
  # keras-hub's converter looks for "albert." names only.
  prefix = ENCODER_PREFIX if encoder_prefix is None else encoder_prefix
  if isinstance(model, AlbertEncoder):
    return "AlbertModel", _encoder_map(model, prefix)
  if isinstance(model, AlbertPretrainer):
    names = _encoder_map(model.encoder, prefix)
    names.update(_head_entries(model, _MLM_NAMES, PART_MLM))
    # transformers ties the decoder's bias to predictions.bias.
    names["predictions.decoder.bias"] = HfEntry(
        model.masked_lm.output_bias, part=PART_MLM, alias=True)
    names.update(_head_entries(model, _SOP_NAMES, PART_SOP))
    return "AlbertForPreTraining", names
  architecture, head, uses_pooler = _task_head(model)
  names = _encoder_map(model.encoder, prefix,
                       PART_ENCODER if uses_pooler else PART_POOLER)
  names.update(head)
  return architecture, names
