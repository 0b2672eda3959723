"""ALBERT model configuration, compatible with both original config families.

Google's configs (google-research/albert) carry keys such as num_hidden_groups,
inner_group_num and down_scale_factor; brightmart's albert_zh configs carry
`ln_type`. The presence of `ln_type` is what marks a config as the albert_zh
flavor, exactly as in the two original codebases. Keys that the model does not
use (net_structure_type, gap_size, pooler_fc_size, ...) are kept verbatim and
written back, so a config survives a round trip through this class unchanged.
"""

import copy
import difflib
import json
import math
import os

from albert_tf import hf_config_keys
# Defined in errors.py (hf_config_keys raises it too); callers import it here.
from albert_tf.errors import AlbertConfigError
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.files.json_files import read_json

FLAVOR_GOOGLE = "google"
FLAVOR_ALBERT_ZH = "albert_zh"

# "gelu" and "gelu_new" are the original's tanh approximation; "gelu_exact"
# is the erf form (what Hugging Face configs call "gelu").
SUPPORTED_ACTIVATIONS = ("gelu", "gelu_new", "gelu_exact", "relu", "tanh",
                         "linear")
SUPPORTED_LN_TYPES = ("postln", "preln")

# Defaults of the original AlbertConfig.__init__ (google-research/albert).
_DEFAULTS = {
    "embedding_size": 128,
    "hidden_size": 4096,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "num_attention_heads": 64,
    "intermediate_size": 16384,
    "inner_group_num": 1,
    "down_scale_factor": 1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "ln_type": None,
}

# Keys written by both families, in the order the original files use.
_COMMON_KEYS = (
    "attention_probs_dropout_prob", "embedding_size", "hidden_act",
    "hidden_dropout_prob", "hidden_size", "initializer_range",
    "intermediate_size", "max_position_embeddings", "num_attention_heads",
    "num_hidden_layers", "type_vocab_size", "vocab_size")
# Keys only Google's configs carry; albert_zh configs never had them.
_GOOGLE_ONLY_KEYS = ("down_scale_factor", "inner_group_num",
                     "num_hidden_groups")
KNOWN_KEYS = ("vocab_size",) + tuple(_DEFAULTS)
# Keys a config file must carry: they differ between the published models, so
# a default (the original's, xxlarge-sized) would silently build another
# model. Every released config (Google v1/v2/zh, brightmart albert_zh) has
# them. max_position_embeddings (512) and type_vocab_size (2) are the same in
# every release, and the remaining keys are Google-only (absent from albert_zh
# files) or training settings: their defaults stay.
REQUIRED_KEYS = ("vocab_size", "embedding_size", "hidden_size",
                 "num_hidden_layers", "num_attention_heads",
                 "intermediate_size")
# Keys of the released configs that the model ignores. They are kept like any
# unknown key, and never taken for a misspelling of a known one
# (pooler_num_attention_heads looks much like num_attention_heads).
ORIGINAL_INERT_KEYS = (
    # Google's configs.
    "net_structure_type", "gap_size", "num_memory_blocks", "layers_to_keep",
    # brightmart's albert_zh configs.
    "directionality", "pooler_fc_size", "pooler_num_attention_heads",
    "pooler_num_fc_layers", "pooler_size_per_head", "pooler_type")
# Transformer blocks run one after the other (num_hidden_layers x
# inner_group_num): ALBERT shares the blocks' weights, so a deep model has few
# parameters, but every block is traced into the step's graph and run at every
# step. Tracing alone took 459 s for 1,000 blocks of a tiny model on a 2-core
# CPU (0.45 s each); the deepest released ALBERT runs 24 (the paper tried up
# to 48). 1e9 layers would trace for years without a word.
MAX_BLOCKS_RUN = 1000
# Bytes per parameter of the weights as the model is built (float32).
_WEIGHT_BYTES = 4
# How alike an unknown key and a known one must be (difflib ratio) for the
# unknown one to count as a misspelling: num_hidden_layer, hiden_size.
_NEAR_MISS_CUTOFF = 0.8


class AlbertConfig:
  """Hyperparameters of an ALBERT model (either original flavor).

  Attributes mirror the original JSON keys. `extra` holds every key the model
  does not interpret, preserved for `to_dict()`.
  """

  def __init__(self,
               vocab_size,
               embedding_size=128,
               hidden_size=4096,
               num_hidden_layers=12,
               num_hidden_groups=1,
               num_attention_heads=64,
               intermediate_size=16384,
               inner_group_num=1,
               down_scale_factor=1,
               hidden_act="gelu",
               hidden_dropout_prob=0.0,
               attention_probs_dropout_prob=0.0,
               max_position_embeddings=512,
               type_vocab_size=2,
               initializer_range=0.02,
               ln_type=None,
               extra=None,
               source="<AlbertConfig>"):
    self.vocab_size = vocab_size
    self.embedding_size = embedding_size
    self.hidden_size = hidden_size
    self.num_hidden_layers = num_hidden_layers
    self.num_hidden_groups = num_hidden_groups
    self.num_attention_heads = num_attention_heads
    self.intermediate_size = intermediate_size
    self.inner_group_num = inner_group_num
    self.down_scale_factor = down_scale_factor
    self.hidden_act = hidden_act
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.initializer_range = initializer_range
    self.ln_type = ln_type
    self.extra = dict(extra or {})
    # Where the config came from; used only to make error messages useful.
    self.source = source
    self.validate()

  # ---------------------------------------------------------------- derived
  @property
  def flavor(self):
    """"albert_zh" when the config has `ln_type` (brightmart), else "google"."""
    return FLAVOR_ALBERT_ZH if self.ln_type is not None else FLAVOR_GOOGLE

  @property
  def head_size(self):
    return self.hidden_size // self.num_attention_heads

  def group_index(self, layer_index):
    """The group used by 0-based layer `layer_index`, as in the original."""
    return int(layer_index / self.num_hidden_layers * self.num_hidden_groups)

  # ------------------------------------------------------------- validation
  def _fail(self, key, message):
    raise AlbertConfigError(f"{self.source}: invalid `{key}`: {message}")

  def validate(self):
    """Raises AlbertConfigError naming the first offending key."""
    int_keys = ("vocab_size", "embedding_size", "hidden_size",
                "num_hidden_layers", "num_hidden_groups", "num_attention_heads",
                "intermediate_size", "inner_group_num",
                "max_position_embeddings", "type_vocab_size")
    for key in int_keys:
      value = getattr(self, key)
      if isinstance(value, bool) or not isinstance(value, int):
        self._fail(key, f"expected a positive integer, got {value!r}")
      if value <= 0:
        self._fail(key, f"expected a positive integer, got {value}")
    if self.hidden_size % self.num_attention_heads:
      self._fail("hidden_size",
                 f"hidden_size ({self.hidden_size}) must be a multiple of "
                 f"num_attention_heads ({self.num_attention_heads})")
    if not 1 <= self.num_hidden_groups <= self.num_hidden_layers:
      self._fail("num_hidden_groups",
                 f"expected 1 <= num_hidden_groups <= num_hidden_layers "
                 f"({self.num_hidden_layers}), got {self.num_hidden_groups}")
    if self.hidden_act not in SUPPORTED_ACTIVATIONS:
      self._fail("hidden_act",
                 f"{self.hidden_act!r} is not supported; expected one of "
                 f"{', '.join(SUPPORTED_ACTIVATIONS)}")
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
      value = getattr(self, key)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
          0.0 <= value < 1.0):
        self._fail(key, f"expected a probability in [0, 1), got {value!r}")
    if (isinstance(self.initializer_range, bool) or
        not isinstance(self.initializer_range, (int, float)) or
        not 0 < self.initializer_range < math.inf):
      self._fail("initializer_range",
                 f"expected a positive number, got {self.initializer_range!r}")
    self._check_size()
    if self.ln_type is not None:
      if self.ln_type not in SUPPORTED_LN_TYPES:
        self._fail("ln_type", f"expected one of {SUPPORTED_LN_TYPES}, got "
                   f"{self.ln_type!r}")
      # albert_zh shares one `layer_shared` block across all layers.
      if self.num_hidden_groups != 1 or self.inner_group_num != 1:
        self._fail("ln_type",
                   "albert_zh configs (those with ln_type) share a single "
                   "block: num_hidden_groups and inner_group_num must be 1")

  def _check_size(self):
    """Refuses sizes that cannot be built, before anything is allocated.

    A mistyped size (hidden_size 1e9, vocab_size 1e10) would otherwise end
    in an allocator traceback, or hang, after the tool has started. The
    float32 weights alone must fit in this machine's memory (training needs
    about 4x that: gradients and two optimizer slots), and the blocks run in
    sequence must stay below MAX_BLOCKS_RUN.
    """
    blocks = self.num_hidden_layers * self.inner_group_num
    if blocks > MAX_BLOCKS_RUN:
      key = ("num_hidden_layers" if self.num_hidden_layers > MAX_BLOCKS_RUN
             else "inner_group_num")
      self._fail(key,
                 f"num_hidden_layers {self.num_hidden_layers:,} x "
                 f"inner_group_num {self.inner_group_num:,} = {blocks:,} "
                 f"transformer blocks run in sequence; at most "
                 f"{MAX_BLOCKS_RUN:,} are supported. ALBERT shares the "
                 "blocks' weights, so this costs compute, not parameters: "
                 "every block is traced into the graph (about 0.5 s each) "
                 "and run at every step (the deepest released ALBERT runs 24)")
    from albert_tf.modeling import model_stats  # pylint: disable=g-import-not-at-top
    params = model_stats.compute_stats(self, seq_length=1).total_params
    needed = params * _WEIGHT_BYTES
    available = memory_limit_bytes()
    if available is None or needed <= available:
      return
    # The key whose weights weigh most is the likeliest typo.
    width = self.embedding_size if self.flavor == FLAVOR_GOOGLE else (
        self.hidden_size)
    blocks_kept = self.num_hidden_groups * self.inner_group_num
    parts = {
        "vocab_size": self.vocab_size * self.embedding_size,
        "max_position_embeddings": self.max_position_embeddings * width,
        "type_vocab_size": self.type_vocab_size * width,
        "hidden_size": 4 * self.hidden_size ** 2 * blocks_kept,
        "intermediate_size":
            2 * self.hidden_size * self.intermediate_size * blocks_kept,
    }
    key = max(parts, key=parts.get)
    self._fail(key,
               f"{key} {getattr(self, key):,} gives a model of about "
               f"{params:,} parameters: {_format_bytes(needed)} of float32 "
               f"weights alone, more than this machine's "
               f"{_format_bytes(available)} of memory (vocab_size "
               f"{self.vocab_size:,}, embedding_size {self.embedding_size:,}, "
               f"hidden_size {self.hidden_size:,}, intermediate_size "
               f"{self.intermediate_size:,}, {blocks_kept:,} block(s) of "
               "weights)")

  # --------------------------------------------------------- serialization
  @classmethod
  def from_dict(cls, json_object, source="<dict>"):
    """The config of a JSON object (a config file's contents).

    Raises AlbertConfigError naming `source` and the key when a required key
    (REQUIRED_KEYS) is missing, or when an unknown key looks like a
    misspelling of a known one: either would otherwise build a model of the
    wrong shape from the defaults. Other unknown keys are kept in `extra`.
    """
    if not isinstance(json_object, dict):
      raise AlbertConfigError(
          f"{source}: expected a JSON object, got {type(json_object).__name__}")
    # A Hugging Face config.json: its names and defaults differ in places.
    if hf_config_keys.is_hf_config(json_object):
      return cls.from_hf_dict(json_object, source=source)
    missing = [k for k in REQUIRED_KEYS if k not in json_object]
    if missing:
      raise AlbertConfigError(
          f"{source}: missing required key"
          f"{'s' if len(missing) > 1 else ''} "
          + ", ".join(f"`{k}`" for k in missing))
    _check_unknown_keys(json_object, source)
    known = {k: v for k, v in json_object.items() if k in KNOWN_KEYS}
    extra = {k: v for k, v in json_object.items() if k not in KNOWN_KEYS}
    return cls(**known, extra=extra, source=source)

  @classmethod
  def from_hf_dict(cls, json_object, source="<config.json>"):
    """The config (Google flavor) of a transformers ALBERT config dict.

    Raises AlbertConfigError naming the key when the config is not ALBERT's
    or asks for something albert_tf cannot compute exactly, CheckpointError
    when transformers would group the layers differently.
    """
    config = cls(source=source,
                 **hf_config_keys.albert_values_from_hf(json_object, source))
    hf_config_keys.check_group_assignment(config, source)
    return config

  @classmethod
  def from_json_file(cls, json_file):
    json_object = read_json(json_file, "an albert_config.json",
                            AlbertConfigError)
    return cls.from_dict(json_object, source=os.fspath(json_file))

  def to_dict(self):
    """The config as the original family writes it, unknown keys included."""
    keys = list(_COMMON_KEYS)
    if self.flavor == FLAVOR_GOOGLE:
      keys += _GOOGLE_ONLY_KEYS
    else:
      keys.append("ln_type")
    output = {k: getattr(self, k) for k in keys}
    output.update(copy.deepcopy(self.extra))
    return dict(sorted(output.items()))

  def to_json_string(self):
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

  def to_json_file(self, json_file):
    """Writes atomically: a reader never sees a half-written file."""
    write_text_atomically(json_file, self.to_json_string())

  def replace(self, **changes):
    """A copy with some keys changed (validated again)."""
    values = {k: getattr(self, k) for k in KNOWN_KEYS}
    values.update(changes)
    return AlbertConfig(**values, extra=self.extra, source=self.source)

  def __eq__(self, other):
    return isinstance(other, AlbertConfig) and self.to_dict() == other.to_dict()

  def __repr__(self):
    return f"AlbertConfig({self.to_dict()})"


def memory_limit_bytes():
  """This machine's memory, or its container's limit when lower; None when
  neither can be read."""
  try:
    limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  except (AttributeError, OSError, ValueError):
    limit = None
  # cgroup v2, then v1; "max" (or a huge number) means no limit.
  for path in ("/sys/fs/cgroup/memory.max",
               "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
    try:
      with open(path, encoding="ascii") as f:
        text = f.read().strip()
    except (OSError, ValueError):
      continue
    if text.isdigit():
      limit = int(text) if limit is None else min(limit, int(text))
      break
  return limit


def _format_bytes(n):
  for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
    if n >= size:
      return f"{n / size:,.1f} {unit}"
  return f"{n:,} bytes"


def _check_unknown_keys(json_object, source):
  """Raises AlbertConfigError for an unknown key that misspells a known one."""
  for key in json_object:
    if key in KNOWN_KEYS or key in ORIGINAL_INERT_KEYS:
      continue
    close = difflib.get_close_matches(str(key).lower().replace("-", "_"),
                                      KNOWN_KEYS, n=1,
                                      cutoff=_NEAR_MISS_CUTOFF)
    if close:
      raise AlbertConfigError(
          f"{source}: unknown key `{key}`: did you mean `{close[0]}`? "
          "(a misspelt key would silently fall back to its default)")
