"""Reading Hugging Face ALBERT directories into albert_tf models.

An HF directory (what transformers' save_pretrained writes) holds
config.json, the weights (model.safetensors, a sharded
model.safetensors.index.json, or pytorch_model.bin) and usually the
tokenizer (spiece.model). Safetensors are read with the safetensors
package's numpy API, so neither torch nor transformers is needed;
pytorch_model.bin needs torch.

Any of our models can be loaded: AlbertEncoder (from any HF ALBERT class),
AlbertPretrainer (AlbertForPreTraining, or AlbertForMaskedLM, whose missing
SOP head is left as it was and reported) and the fine-tuning models with the
matching head (see hf_name_map).
"""

import dataclasses
import json
import os

import numpy as np

from albert_tf.checkpoints import hf_config
from albert_tf.checkpoints import hf_name_map
from albert_tf.checkpoints.tf1_checkpoint import CheckpointMismatchError
from albert_tf.config import AlbertConfigError
from albert_tf.errors import CheckpointError

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"
PYTORCH_FILE = "pytorch_model.bin"
SPM_FILE = "spiece.model"
# Buffers transformers may save that are not weights.
_BUFFER_SUFFIXES = ("embeddings.position_ids",)
# Hyperparameters that must agree between the model and config.json (the
# dropout rates and the initializer range do not change the outputs).
_ARCHITECTURE_KEYS = (
    "vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
    "num_hidden_groups", "num_attention_heads", "intermediate_size",
    "inner_group_num", "hidden_act", "max_position_embeddings",
    "type_vocab_size")
# Activations that compute the same function under two names.
_SAME_ACTIVATION = {"gelu_new": "gelu"}


@dataclasses.dataclass
class HfLoadReport:
  """What load_hf_checkpoint did."""
  directory: str
  weights_file: str
  architecture: str  # The transformers class config.json names.
  loaded: list  # HF tensor names assigned to the model.
  unused: list  # Tensors in the file the model has no place for.
  left_as_is: list  # Heads the file does not have (e.g. SOP of ForMaskedLM).

  def __str__(self):
    lines = [f"loaded {len(self.loaded)} tensors ({self.architecture}) from "
             f"Hugging Face directory {self.directory}"]
    if self.unused:
      lines.append(f"unused tensors ({len(self.unused)}): "
                   + ", ".join(self.unused))
    if self.left_as_is:
      lines.append("not in the checkpoint, left as initialised: "
                   + ", ".join(self.left_as_is))
    return "\n".join(lines)


def is_hf_directory(path):
  """True for a directory with a config.json and no TF checkpoint state."""
  if not path:
    return False
  path = os.fspath(path)
  return (os.path.isdir(path) and
          os.path.isfile(os.path.join(path, CONFIG_FILE)) and
          not os.path.exists(os.path.join(path, "checkpoint")) and
          not os.path.exists(os.path.join(path, "saved_model.pb")))


def read_hf_config_dict(directory):
  """The parsed config.json of an HF ALBERT directory (model_type checked)."""
  path = os.path.join(os.fspath(directory), CONFIG_FILE)
  try:
    with open(path, encoding="utf-8") as f:
      json_object = json.load(f)
  except OSError as e:
    raise CheckpointError(f"cannot read {path}: {e}") from e
  except json.JSONDecodeError as e:
    raise CheckpointError(f"{path}: not valid JSON ({e.msg} at line "
                          f"{e.lineno})") from e
  if not isinstance(json_object, dict):
    raise CheckpointError(f"{path}: expected a JSON object")
  if json_object.get("model_type") != hf_config.HF_MODEL_TYPE:
    raise CheckpointError(
        f"{path}: model_type is {json_object.get('model_type')!r}, expected "
        "'albert' (only Hugging Face ALBERT models can be read)")
  return json_object


def read_hf_config(directory):
  """AlbertConfig from an HF directory's config.json."""
  path = os.path.join(os.fspath(directory), CONFIG_FILE)
  try:
    return hf_config.albert_config_from_hf(read_hf_config_dict(directory),
                                           source=path)
  except AlbertConfigError as e:
    raise CheckpointError(str(e)) from e


def hf_label_names(directory):
  """Label names in id order (config.json's id2label), or None."""
  return hf_config.hf_label_names(read_hf_config_dict(directory))


def default_label_names(init_checkpoint):
  """id2label's names of an HF --init_checkpoint; None for anything else."""
  if not is_hf_directory(init_checkpoint):
    return None
  return hf_label_names(init_checkpoint)


def _to_float32(name, value, path):
  value = np.asarray(value)
  if value.dtype.kind != "f":
    raise CheckpointError(f"{path}: tensor {name} has dtype {value.dtype}, "
                          "expected floating point weights")
  return value.astype(np.float32, copy=False)


def _read_safetensors(path):
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  try:
    return load_file(path)
  except Exception as e:  # safetensors raises its own SafetensorError.
    raise CheckpointError(f"cannot read {path}: {e}") from e


def _read_pytorch(path):
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise CheckpointError(
        f"{path} is a PyTorch pickle, which needs torch installed; install "
        "torch, or save the model with safetensors (model.safetensors)"
    ) from None
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # Pickle and zip errors of many kinds.
    raise CheckpointError(f"cannot read {path}: {e}") from e
  return {k: v.float().numpy() for k, v in state.items()}


def read_hf_tensors(directory):
  """(weights file, {name: float32 ndarray}) of an HF directory."""
  directory = os.fspath(directory)
  single = os.path.join(directory, SAFETENSORS_FILE)
  index = os.path.join(directory, SAFETENSORS_INDEX_FILE)
  pickle = os.path.join(directory, PYTORCH_FILE)
  if os.path.isfile(single):
    path, tensors = single, _read_safetensors(single)
  elif os.path.isfile(index):
    path, tensors = index, {}
    try:
      with open(index, encoding="utf-8") as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    except (OSError, ValueError, KeyError) as e:
      raise CheckpointError(f"cannot read the shard index {index}: {e}"
                            ) from e
    for shard in shards:
      tensors.update(_read_safetensors(os.path.join(directory, shard)))
  elif os.path.isfile(pickle):
    path, tensors = pickle, _read_pytorch(pickle)
  else:
    raise CheckpointError(
        f"Hugging Face directory {directory} has no weights: expected "
        f"{SAFETENSORS_FILE}, {SAFETENSORS_INDEX_FILE} or {PYTORCH_FILE}")
  return path, {k: _to_float32(k, v, path) for k, v in tensors.items()}


def _encoder_prefix(names):
  """"albert." when the file comes from a class with a head, else ""."""
  prefix = hf_name_map.ENCODER_PREFIX
  return prefix if any(n.startswith(prefix) for n in names) else ""


def _check_config(model_config, directory):
  """The model must have been built from the directory's config."""
  file_config = read_hf_config(directory)
  differences = []
  for key in _ARCHITECTURE_KEYS:
    ours, theirs = getattr(model_config, key), getattr(file_config, key)
    if key == "hidden_act":
      ours = _SAME_ACTIVATION.get(ours, ours)
      theirs = _SAME_ACTIVATION.get(theirs, theirs)
    if ours != theirs:
      differences.append(f"{key}: model {ours!r}, config.json {theirs!r}")
  if differences:
    raise CheckpointMismatchError(
        f"the model (config {model_config.source}) was not built from "
        f"{os.path.join(directory, CONFIG_FILE)}: " + "; ".join(differences))


def load_hf_checkpoint(model, directory):
  """Loads an HF ALBERT directory into `model`; returns an HfLoadReport.

  Args:
    model: AlbertEncoder, AlbertPretrainer, or a fine-tuning model with a
      transformers counterpart (ClassifierModel → ForSequenceClassification,
      TokenClassifierModel → ForTokenClassification, MultipleChoiceModel →
      ForMultipleChoice, SQuAD v1 SquadModel → ForQuestionAnswering).
    directory: the HF directory.

  Raises:
    CheckpointError (CheckpointMismatchError for missing or mis-shaped
    tensors, listing them all); nothing is assigned in that case.
  """
  directory = os.fspath(directory)
  config_dict = read_hf_config_dict(directory)
  _check_config(hf_name_map.model_config(model), directory)
  weights_file, tensors = read_hf_tensors(directory)
  _, entries = hf_name_map.hf_variable_map(
      model, encoder_prefix=_encoder_prefix(tensors))
  # A tied copy stands in for its original when only the copy was saved.
  aliases = {id(e.variable): name for name, e in entries.items() if e.alias}
  missing, mismatched, assignments = {}, [], []
  used = set()
  for name, entry in entries.items():
    if entry.alias:
      if name in tensors:  # The tied copy is the same weight: not unused.
        used.add(name)
      continue
    source = name
    if source not in tensors and id(entry.variable) in aliases:
      source = aliases[id(entry.variable)]
    if source not in tensors:
      if entry.variable is not None:  # An identity mapping may be omitted.
        missing.setdefault(entry.part, []).append(name)
      continue
    value = tensors[source]
    used.add(source)
    expected = (list(entry.constant.shape) if entry.variable is None else
                entry.variable.shape.as_list()[::-1] if entry.transpose else
                entry.variable.shape.as_list())
    if list(value.shape) != expected:
      mismatched.append(f"{source}: file {list(value.shape)}, expected "
                        f"{expected}")
    elif entry.variable is None:
      if not np.array_equal(value, entry.constant):
        raise CheckpointError(
            f"{weights_file}: {source} is not the identity, but albert_tf "
            "(like the original graph) has no embedding_hidden_mapping_in "
            "when embedding_size == hidden_size")
    else:
      assignments.append((name, entry, value))
  left_as_is = []
  # Parts a transformers class may lack as a whole: AlbertForMaskedLM has
  # no SOP head and no pooler, token classification and QA no pooler.
  for part, description in (
      (hf_name_map.PART_POOLER, "pooler"),
      (hf_name_map.PART_SOP, "sentence-order head (sop_classifier)")):
    absent = missing.get(part)
    if absent and len(absent) == sum(e.part == part
                                     for e in entries.values()):
      del missing[part]
      left_as_is.append(description)
  missing_names = sorted(n for names in missing.values() for n in names)
  if missing_names or mismatched:
    lines = [f"Hugging Face checkpoint {weights_file} does not match the "
             f"{type(model).__name__} (architecture in config.json: "
             f"{', '.join(config_dict.get('architectures') or ['?'])}):"]
    if missing_names:
      lines.append(f"missing tensors ({len(missing_names)}): "
                   + ", ".join(missing_names))
    if mismatched:
      lines.append(f"shape mismatches ({len(mismatched)}): "
                   + "; ".join(mismatched))
    # One line: entry points print it as a single `error: ...` line.
    raise CheckpointMismatchError(" ".join(lines[:1]) + " " +
                                  "; ".join(lines[1:]))
  _check_tied_decoder(tensors, entries, weights_file, used)
  for _, entry, value in assignments:
    entry.variable.assign(value.T if entry.transpose else value)
  unused = sorted(n for n in tensors
                  if n not in used and not n.endswith(_BUFFER_SUFFIXES))
  return HfLoadReport(
      directory=directory, weights_file=weights_file,
      architecture=", ".join(config_dict.get("architectures") or
                             ["unknown class"]),
      loaded=[name for name, _, _ in assignments], unused=unused,
      left_as_is=left_as_is)


def _check_tied_decoder(tensors, entries, weights_file, used):
  """A saved MLM decoder matrix must be the word embeddings (tied), as our
  head always computes logits against them."""
  if "predictions.decoder.bias" not in entries:
    return
  decoder = tensors.get("predictions.decoder.weight")
  if decoder is None:
    return
  embeddings_name = next(n for n in entries
                         if n.endswith("embeddings.word_embeddings.weight"))
  if not np.array_equal(decoder, tensors.get(embeddings_name)):
    raise CheckpointError(
        f"{weights_file}: predictions.decoder.weight differs from "
        f"{embeddings_name}; albert_tf's MLM head is tied to the word "
        "embeddings (tie_word_embeddings) and cannot hold an untied decoder")
  used.add("predictions.decoder.weight")
  if "predictions.decoder.bias" in tensors:
    used.add("predictions.decoder.bias")


def resolve_model_files(init_checkpoint, albert_config_file=None,
                        spm_model_file=None, preset=None, vocab_file=None):
  """(albert_config_file, spm_model_file) with HF directory defaults.

  When `init_checkpoint` is a Hugging Face directory, a config not given
  (neither a file nor a preset) defaults to its config.json, and a tokenizer
  not given (neither SentencePiece nor WordPiece) to its spiece.model when
  it has one. Otherwise both come back unchanged.
  """
  if not is_hf_directory(init_checkpoint):
    return albert_config_file, spm_model_file
  directory = os.fspath(init_checkpoint)
  if not albert_config_file and not preset:
    albert_config_file = os.path.join(directory, CONFIG_FILE)
  spm = os.path.join(directory, SPM_FILE)
  if not spm_model_file and not vocab_file and os.path.isfile(spm):
    check_spiece_fits(spm, _vocab_size_or_none(albert_config_file, preset))
    spm_model_file = spm
  return albert_config_file, spm_model_file


def _vocab_size_or_none(albert_config_file, preset):
  """The config's vocab_size; None when it cannot be read (the tool that
  reads it next reports why, in its own words)."""
  # pylint: disable=g-import-not-at-top
  from albert_tf import presets
  from albert_tf.config import AlbertConfig
  from albert_tf.errors import UserError
  try:
    if preset:
      return presets.get_preset(preset).vocab_size
    return AlbertConfig.from_json_file(albert_config_file).vocab_size
  except (UserError, OSError):
    return None


def _piece_count_or_none(spm_model_file):
  """How many pieces a SentencePiece model has; None when it does not load
  (the tokenizer reports that when it is built)."""
  import sentencepiece  # pylint: disable=g-import-not-at-top
  processor = sentencepiece.SentencePieceProcessor()
  try:
    processor.Load(spm_model_file)
  except (OSError, RuntimeError, ValueError):
    return None
  return processor.GetPieceSize()


def check_spiece_fits(spm_model_file, vocab_size):
  """Refuses an HF directory whose spiece.model and config disagree.

  In every released ALBERT (v1, v2: 30,000 pieces, vocab_size 30,000) the
  two are equal: the directory's tokenizer and weights come from one model.
  More pieces than rows would look up ids past the embedding table (an
  error on CPU, zeros on GPU); fewer means, in practice, a spiece.model of
  another model copied in, whose ids name other words than the weights
  learned: training and predictions would be silently meaningless. Where a
  smaller tokenizer is intended (a vocabulary padded to a round size), name
  it with --spm_model_file: a tokenizer given explicitly is only checked
  not to exceed vocab_size.
  """
  if vocab_size is None:
    return
  pieces = _piece_count_or_none(spm_model_file)
  if pieces is None or pieces == vocab_size:
    return
  consequence = (
      "its ids past the embedding table would fail or read zeros"
      if pieces > vocab_size else
      "its ids would name other words than the weights learned (a "
      "spiece.model of another model?)")
  raise CheckpointError(
      f"{spm_model_file} has {pieces:,} pieces but the model's vocab_size is "
      f"{vocab_size:,}: {consequence}; put the model's own spiece.model in "
      "the directory, or pass --spm_model_file to use another tokenizer on "
      "purpose")
