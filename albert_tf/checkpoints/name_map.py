"""The ordered map between original TF1 variable names and our variables.

Every weight of our layers has exactly the original's shape (2-D attention
kernels, [2,H] SOP weights), so the only rule is the name map below: no
reshapes or transposes are needed in either direction.
"""

import collections

from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer

# (TF1 name under a block's scope, attribute path in TransformerBlock).
_GOOGLE_BLOCK_NAMES = (
    ("attention_1/self/query/kernel", "attention.query.kernel"),
    ("attention_1/self/query/bias", "attention.query.bias"),
    ("attention_1/self/key/kernel", "attention.key.kernel"),
    ("attention_1/self/key/bias", "attention.key.bias"),
    ("attention_1/self/value/kernel", "attention.value.kernel"),
    ("attention_1/self/value/bias", "attention.value.bias"),
    ("attention_1/output/dense/kernel", "attention_output_dense.kernel"),
    ("attention_1/output/dense/bias", "attention_output_dense.bias"),
    ("LayerNorm/gamma", "attention_layer_norm.gamma"),
    ("LayerNorm/beta", "attention_layer_norm.beta"),
    ("ffn_1/intermediate/dense/kernel", "intermediate_dense.kernel"),
    ("ffn_1/intermediate/dense/bias", "intermediate_dense.bias"),
    ("ffn_1/intermediate/output/dense/kernel", "output_dense.kernel"),
    ("ffn_1/intermediate/output/dense/bias", "output_dense.bias"),
    ("LayerNorm_1/gamma", "output_layer_norm.gamma"),
    ("LayerNorm_1/beta", "output_layer_norm.beta"),
)
# brightmart albert_zh keeps BERT's names inside `layer_shared`; pre-LN
# configs use the same names for LayerNorms applied before each sublayer.
_ALBERT_ZH_BLOCK_NAMES = (
    ("attention/self/query/kernel", "attention.query.kernel"),
    ("attention/self/query/bias", "attention.query.bias"),
    ("attention/self/key/kernel", "attention.key.kernel"),
    ("attention/self/key/bias", "attention.key.bias"),
    ("attention/self/value/kernel", "attention.value.kernel"),
    ("attention/self/value/bias", "attention.value.bias"),
    ("attention/output/dense/kernel", "attention_output_dense.kernel"),
    ("attention/output/dense/bias", "attention_output_dense.bias"),
    ("attention/output/LayerNorm/gamma", "attention_layer_norm.gamma"),
    ("attention/output/LayerNorm/beta", "attention_layer_norm.beta"),
    ("intermediate/dense/kernel", "intermediate_dense.kernel"),
    ("intermediate/dense/bias", "intermediate_dense.bias"),
    ("output/dense/kernel", "output_dense.kernel"),
    ("output/dense/bias", "output_dense.bias"),
    ("output/LayerNorm/gamma", "output_layer_norm.gamma"),
    ("output/LayerNorm/beta", "output_layer_norm.beta"),
)
_HEAD_NAMES = (
    ("cls/predictions/transform/dense/kernel", "masked_lm.transform.kernel"),
    ("cls/predictions/transform/dense/bias", "masked_lm.transform.bias"),
    ("cls/predictions/transform/LayerNorm/gamma", "masked_lm.layer_norm.gamma"),
    ("cls/predictions/transform/LayerNorm/beta", "masked_lm.layer_norm.beta"),
    ("cls/predictions/output_bias", "masked_lm.output_bias"),
    ("cls/seq_relationship/output_weights", "sentence_order.output_weights"),
    ("cls/seq_relationship/output_bias", "sentence_order.output_bias"),
)


def _attribute(obj, path):
  for part in path.split("."):
    obj = getattr(obj, part)
  return obj


def _encoder_map(encoder):
  names = collections.OrderedDict()
  emb = encoder.embeddings
  names["bert/embeddings/word_embeddings"] = emb.word_embeddings
  if emb.word_embeddings_2 is not None:
    names["bert/embeddings/word_embeddings_2"] = emb.word_embeddings_2
  names["bert/embeddings/token_type_embeddings"] = emb.token_type_embeddings
  names["bert/embeddings/position_embeddings"] = emb.position_embeddings
  names["bert/embeddings/LayerNorm/gamma"] = emb.layer_norm.gamma
  names["bert/embeddings/LayerNorm/beta"] = emb.layer_norm.beta
  if encoder.embedding_hidden_mapping_in is not None:
    mapping = encoder.embedding_hidden_mapping_in
    names["bert/encoder/embedding_hidden_mapping_in/kernel"] = mapping.kernel
    names["bert/encoder/embedding_hidden_mapping_in/bias"] = mapping.bias
  if encoder.config.flavor == FLAVOR_GOOGLE:
    for g, group in enumerate(encoder.groups):
      for m, block in enumerate(group.inner_groups):
        scope = f"bert/encoder/transformer/group_{g}/inner_group_{m}/"
        for suffix, path in _GOOGLE_BLOCK_NAMES:
          names[scope + suffix] = _attribute(block, path)
  else:
    block = encoder.groups[0].inner_groups[0]
    for suffix, path in _ALBERT_ZH_BLOCK_NAMES:
      names["bert/encoder/layer_shared/" + suffix] = _attribute(block, path)
  names["bert/pooler/dense/kernel"] = encoder.pooler.kernel
  names["bert/pooler/dense/bias"] = encoder.pooler.bias
  return names


def tf1_variable_map(model):
  """OrderedDict: original TF1 variable name → our tf.Variable.

  `model` is an AlbertEncoder (encoder names only) or an AlbertPretrainer
  (encoder and the cls/* pretraining heads).
  """
  if isinstance(model, AlbertEncoder):
    return _encoder_map(model)
  if isinstance(model, AlbertPretrainer):
    names = _encoder_map(model.encoder)
    for name, path in _HEAD_NAMES:
      names[name] = _attribute(model, path)
    return names
  raise TypeError("expected an AlbertEncoder or AlbertPretrainer, got "
                  f"{type(model).__name__}")
