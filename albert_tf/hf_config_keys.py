"""How a Hugging Face ALBERT config.json's keys map to the original's.

transformers' AlbertConfig names every hyperparameter like the original
albert_config.json, with three differences that matter numerically:

- `hidden_act`: HF "gelu" is the exact (erf) GELU, while the original's
  "gelu" is the tanh approximation, which HF calls "gelu_new". albert_tf
  calls the exact one "gelu_exact".
- `layer_norm_eps`: the original hard-codes 1e-12; other values are refused.
- A missing key takes transformers' default, not the original's (HF's
  default activation is "gelu_new", for instance).

This module works on plain dicts and imports no config class: config.py
uses it to read a config.json (AlbertConfig.from_dict accepts both kinds),
and checkpoints/hf_config.py to write one, so neither of the two imports
the other.
"""

from albert_tf.errors import AlbertConfigError
from albert_tf.errors import CheckpointError

HF_MODEL_TYPE = "albert"
# The only LayerNorm epsilon the original graph (and albert_tf) uses.
LAYER_NORM_EPS = 1e-12

# transformers' AlbertConfig defaults, used for keys a config.json omits.
HF_DEFAULTS = {
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
SHARED_KEYS = tuple(k for k in HF_DEFAULTS if k != "hidden_act")

# HF activation name → albert_tf's, for those computed with the same formula.
ACTIVATION_FROM_HF = {
    "gelu_new": "gelu",           # tanh approximation, the original's gelu
    "gelu_pytorch_tanh": "gelu",  # the same formula, a fused torch kernel
    "gelu": "gelu_exact",         # erf
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
ACTIVATION_TO_HF = {
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


def albert_values_from_hf(json_object, source="<config.json>"):
  """AlbertConfig's keyword arguments (Google flavor) for a transformers
  ALBERT config dict.

  Raises AlbertConfigError naming the key when the config is not ALBERT's or
  asks for something albert_tf cannot compute exactly.
  """
  model_type = json_object.get("model_type")
  if model_type != HF_MODEL_TYPE:
    raise AlbertConfigError(
        f"{source}: model_type is {model_type!r}, expected 'albert' (only "
        "Hugging Face ALBERT models can be read)")
  values = {k: json_object.get(k, d) for k, d in HF_DEFAULTS.items()}
  hf_act = values.pop("hidden_act")
  if hf_act not in ACTIVATION_FROM_HF:
    raise AlbertConfigError(
        f"{source}: hidden_act {hf_act!r} is not supported; albert_tf "
        f"reproduces {', '.join(sorted(ACTIVATION_FROM_HF))}")
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
  values["hidden_act"] = ACTIVATION_FROM_HF[hf_act]
  return values


def _group_of_layer_hf(layer, num_layers, num_groups):
  # transformers' AlbertTransformer: int(i / (layers / groups)).
  return int(layer / (num_layers / num_groups))


def check_group_assignment(config, source):
  """Refuses the rare sizes where transformers' layer→group rounding differs
  from the original's int(i / layers · groups) (config.group_index)."""
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
