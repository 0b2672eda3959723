"""Hugging Face ALBERT config.json ↔ AlbertConfig.

transformers' AlbertConfig names every hyperparameter like the original
albert_config.json, with three differences that matter numerically:

- `hidden_act`: HF "gelu" is the exact (erf) GELU, while the original's
  "gelu" is the tanh approximation, which HF calls "gelu_new". albert_tf
  calls the exact one "gelu_exact".
- `layer_norm_eps`: the original hard-codes 1e-12; other values are refused.
- A missing key takes transformers' default, not the original's (HF's
  default activation is "gelu_new", for instance).

albert_zh's graph (word_embeddings_2, one `layer_shared` block, pre-LN) has
no transformers class, so such a config cannot be written as an HF one.
"""

from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.errors import CheckpointError

HF_MODEL_TYPE = "albert"
# The only LayerNorm epsilon the original graph (and albert_tf) uses.
LAYER_NORM_EPS = 1e-12

# transformers' AlbertConfig defaults, used for keys a config.json omits.
_HF_DEFAULTS = {
    "vocab_size": 30000,
    "embedding_size": 128,
    "hidden_size": 4096,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "num_attention_heads": 64,
    "intermediate_size": 16384,
    "inner_group_num": 1,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
}
# Keys whose meaning is the same on both sides (hidden_act is translated).
_SHARED_KEYS = tuple(k for k in _HF_DEFAULTS if k != "hidden_act")

# HF activation name → albert_tf's, for those computed with the same formula.
_ACTIVATION_FROM_HF = {
    "gelu_new": "gelu",           # tanh approximation, the original's gelu
    "gelu_pytorch_tanh": "gelu",  # the same formula, a fused torch kernel
    "gelu": "gelu_exact",         # erf
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
_ACTIVATION_TO_HF = {
    "gelu": "gelu_new",
    "gelu_new": "gelu_new",
    "gelu_exact": "gelu",
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}


# Keys transformers writes into every ALBERT config.json and the original
# configs never have. Some released original configs carry a `model_type`
# too, so that key alone does not make a config a transformers one.
_TRANSFORMERS_ONLY_KEYS = (
    "transformers_version", "architectures", "layer_norm_eps",
    "position_embedding_type", "pad_token_id", "bos_token_id",
    "eos_token_id")


def is_hf_config(json_object):
  """True for a transformers config.json: one of another model_type (to be
  refused by name), or an ALBERT one with keys only transformers writes."""
  if not isinstance(json_object, dict) or "model_type" not in json_object:
    return False
  if json_object["model_type"] != HF_MODEL_TYPE:
    return True
  return "ln_type" not in json_object and any(
      key in json_object for key in _TRANSFORMERS_ONLY_KEYS)


def _group_of_layer_hf(layer, num_layers, num_groups):
  # transformers' AlbertTransformer: int(i / (layers / groups)).
  return int(layer / (num_layers / num_groups))


def check_group_assignment(config, source):
  """Refuses the rare sizes where transformers' layer→group rounding differs
  from the original's int(i / layers · groups)."""
  for layer in range(config.num_hidden_layers):
    hf_group = _group_of_layer_hf(layer, config.num_hidden_layers,
                                  config.num_hidden_groups)
    if hf_group != config.group_index(layer):
      raise CheckpointError(
          f"{source}: with num_hidden_layers={config.num_hidden_layers} and "
          f"num_hidden_groups={config.num_hidden_groups}, transformers runs "
          f"layer {layer} with group {hf_group} but the original graph uses "
          f"group {config.group_index(layer)}; the two cannot be the same "
          "model")


def albert_config_from_hf(json_object, source="<config.json>"):
  """AlbertConfig (Google flavor) from a transformers ALBERT config dict.

  Raises AlbertConfigError naming the key when the config is not ALBERT's or
  asks for something albert_tf cannot compute exactly.
  """
  model_type = json_object.get("model_type")
  if model_type != HF_MODEL_TYPE:
    raise AlbertConfigError(
        f"{source}: model_type is {model_type!r}, expected 'albert' (only "
        "Hugging Face ALBERT models can be read)")
  values = {k: json_object.get(k, d) for k, d in _HF_DEFAULTS.items()}
  hf_act = values.pop("hidden_act")
  if hf_act not in _ACTIVATION_FROM_HF:
    raise AlbertConfigError(
        f"{source}: hidden_act {hf_act!r} is not supported; albert_tf "
        f"reproduces {', '.join(sorted(_ACTIVATION_FROM_HF))}")
  eps = json_object.get("layer_norm_eps", LAYER_NORM_EPS)
  if eps != LAYER_NORM_EPS:
    raise AlbertConfigError(
        f"{source}: layer_norm_eps {eps!r} is not supported; ALBERT's "
        f"LayerNorms use {LAYER_NORM_EPS}")
  position_type = json_object.get("position_embedding_type", "absolute")
  if position_type != "absolute":
    raise AlbertConfigError(
        f"{source}: position_embedding_type {position_type!r} is not "
        "supported; ALBERT uses absolute position embeddings")
  config = AlbertConfig(hidden_act=_ACTIVATION_FROM_HF[hf_act],
                        source=source, **values)
  check_group_assignment(config, source)
  return config


def hf_config_from_albert(config, architecture, id2label=None,
                          problem_type=None):
  """The transformers config.json dict for `config`.

  Args:
    config: a Google-flavor AlbertConfig.
    architecture: the transformers class, e.g. "AlbertForPreTraining".
    id2label: labels of a classification head, in id order.
    problem_type: transformers' problem_type ("regression", ...), if any.
  """
  if config.flavor != FLAVOR_GOOGLE:
    raise CheckpointError(
        f"{config.source}: an albert_zh model (word_embeddings_2, "
        "layer_shared, ln_type) has no transformers class; only Google-flavor "
        "ALBERT models can be written as Hugging Face directories")
  if config.hidden_act not in _ACTIVATION_TO_HF:
    raise CheckpointError(
        f"{config.source}: hidden_act {config.hidden_act!r} has no "
        "transformers equivalent")
  check_group_assignment(config, config.source)
  output = {"architectures": [architecture], "model_type": HF_MODEL_TYPE}
  output.update({k: getattr(config, k) for k in _SHARED_KEYS})
  output["hidden_act"] = _ACTIVATION_TO_HF[config.hidden_act]
  output.update({
      "layer_norm_eps": LAYER_NORM_EPS,
      "position_embedding_type": "absolute",
      # The original fine-tuning heads' dropout.
      "classifier_dropout_prob": 0.1,
      # ALBERT's SentencePiece ids: <pad> 0, [CLS] 2, [SEP] 3.
      "pad_token_id": 0,
      "bos_token_id": 2,
      "eos_token_id": 3,
  })
  if id2label:
    output["id2label"] = {str(i): str(label)
                          for i, label in enumerate(id2label)}
    output["label2id"] = {str(label): i for i, label in enumerate(id2label)}
  if problem_type:
    output["problem_type"] = problem_type
  return output


def hf_label_names(json_object):
  """Label names in id order from id2label, or None when it has none."""
  id2label = json_object.get("id2label")
  if not id2label:
    return None
  by_id = {int(k): v for k, v in id2label.items()}
  return [by_id[i] for i in range(len(by_id))]
