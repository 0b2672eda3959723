"""Hugging Face ALBERT config.json ↔ AlbertConfig.

The key mapping (names, activations, defaults, what is refused) lives in
albert_tf/hf_config_keys.py, which config.py also uses to read a
config.json; this module adds writing one and the label names.

albert_zh's graph (word_embeddings_2, one `layer_shared` block, pre-LN) has
no transformers class, so such a config cannot be written as an HF one.
"""

from albert_tf.config import AlbertConfig
from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.errors import CheckpointError
from albert_tf.hf_config_keys import ACTIVATION_TO_HF
from albert_tf.hf_config_keys import check_group_assignment
from albert_tf.hf_config_keys import HF_MODEL_TYPE
from albert_tf.hf_config_keys import LAYER_NORM_EPS
from albert_tf.hf_config_keys import SHARED_KEYS


def albert_config_from_hf(json_object, source="<config.json>"):
  """AlbertConfig (Google flavor) from a transformers ALBERT config dict."""
  return AlbertConfig.from_hf_dict(json_object, source=source)


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
  if config.hidden_act not in ACTIVATION_TO_HF:
    raise CheckpointError(
        f"{config.source}: hidden_act {config.hidden_act!r} has no "
        "transformers equivalent")
  check_group_assignment(config, config.source)
  output = {"architectures": [architecture], "model_type": HF_MODEL_TYPE}
  output.update({k: getattr(config, k) for k in SHARED_KEYS})
  output["hidden_act"] = ACTIVATION_TO_HF[config.hidden_act]
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
