"""Named configs of the published ALBERT (and BERT-as-ALBERT) models.

The values are those of the released albert_config.json files:
google-research/albert v1 and v2 (English, V=30000), Google's Chinese
albert_*_zh (V=21128, relu), and brightmart's albert_zh models (which have
`ln_type`, the albert_zh flavor). bert_base / bert_large are BERT expressed as
ALBERT: E=H and one group per layer, which gives BERT's parameter count.
"""

import difflib

from albert_tf import errors
from albert_tf.config import AlbertConfig

# (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size)
_GOOGLE_SIZES = {
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
    "xlarge": (2048, 24, 16, 8192),
    "xxlarge": (4096, 12, 64, 16384),
}
_BRIGHTMART_SIZES = {
    "tiny": (312, 4, 12, 1248),
    "small": (384, 6, 12, 1536),
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
    "xlarge": (2048, 24, 32, 8192),
    "xxlarge": (4096, 12, 64, 16384),
}
# Keys Google's released configs carry that the model ignores.
_GOOGLE_INERT_KEYS = {"net_structure_type": 0, "gap_size": 0,
                      "num_memory_blocks": 0, "layers_to_keep": []}


def _google(size, vocab_size, hidden_act, dropout):
  hidden, layers, heads, intermediate = _GOOGLE_SIZES[size]
  return dict(
      vocab_size=vocab_size, embedding_size=128, hidden_size=hidden,
      num_hidden_layers=layers, num_hidden_groups=1,
      num_attention_heads=heads, intermediate_size=intermediate,
      inner_group_num=1, down_scale_factor=1, hidden_act=hidden_act,
      hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
      max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02,
      **_GOOGLE_INERT_KEYS)


def _brightmart(size):
  hidden, layers, heads, intermediate = _BRIGHTMART_SIZES[size]
  return dict(
      vocab_size=21128, embedding_size=128, hidden_size=hidden,
      num_hidden_layers=layers, num_attention_heads=heads,
      intermediate_size=intermediate, hidden_act="gelu",
      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
      max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02,
      ln_type="postln", directionality="bidi",
      pooler_type="first_token_transform")


def _bert(hidden, layers, heads, intermediate):
  return dict(
      vocab_size=30000, embedding_size=hidden, hidden_size=hidden,
      num_hidden_layers=layers, num_hidden_groups=layers,
      num_attention_heads=heads, intermediate_size=intermediate,
      inner_group_num=1, down_scale_factor=1, hidden_act="gelu",
      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
      max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02)


PRESETS = {}
for _size in _GOOGLE_SIZES:
  # v1 used dropout 0.1 except xxlarge; v2 turned dropout off everywhere.
  PRESETS[f"albert_{_size}_v1"] = _google(
      _size, 30000, "gelu", 0.0 if _size == "xxlarge" else 0.1)
  PRESETS[f"albert_{_size}_v2"] = _google(_size, 30000, "gelu", 0.0)
  PRESETS[f"albert_{_size}_zh_google"] = _google(_size, 21128, "relu", 0.0)
for _size in _BRIGHTMART_SIZES:
  PRESETS[f"albert_{_size}_zh"] = _brightmart(_size)
PRESETS["bert_base"] = _bert(768, 12, 12, 3072)
PRESETS["bert_large"] = _bert(1024, 24, 16, 4096)


def preset_names():
  return sorted(PRESETS)


def get_preset(name):
  """The AlbertConfig of a published model, e.g. get_preset("albert_base_v2")."""
  if name not in PRESETS:
    close = difflib.get_close_matches(name, PRESETS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise errors.FlagError(f"unknown preset {name!r}{hint}; known presets: "
                           f"{', '.join(preset_names())}")
  return AlbertConfig.from_dict(PRESETS[name], source=f"preset {name}")


def load_config(config_file=None, preset=None):
  """The config named by exactly one of a JSON file path or a preset name."""
  if bool(config_file) == bool(preset):
    raise errors.FlagError(
        "pass exactly one of --albert_config_file or --preset")
  if preset:
    return get_preset(preset)
  return AlbertConfig.from_json_file(config_file)
