"""Writing albert_tf models as Hugging Face ALBERT directories.

The directory is what transformers' save_pretrained writes, so that
`AlbertFor...from_pretrained(dir)` (PyTorch) and keras-hub's
`AlbertBackbone.from_preset(dir)` load it: config.json, model.safetensors
(transformers' names and [out, in] Linear layout, see hf_name_map) and,
when given, the tokenizer: spiece.model with a tokenizer_config.json for
SentencePiece, or vocab.txt for WordPiece.

Only Google-flavor models can be written; albert_zh's graph has no
transformers class. The whole directory appears at once (staged, then
renamed): a failed export leaves nothing under the final name.
"""

import json
import os
import shutil

import numpy as np

from albert_tf.checkpoints import hf_checkpoint
from albert_tf.checkpoints import hf_config
from albert_tf.checkpoints import hf_name_map
from albert_tf.errors import CheckpointError
from albert_tf.files.atomic_directory import directory_written_atomically

VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"

# ALBERT's special pieces, as the original SentencePiece models define them.
_SPECIAL_TOKENS = {
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "unk_token": "<unk>",
    "sep_token": "[SEP]",
    "pad_token": "<pad>",
    "cls_token": "[CLS]",
    # transformers' AlbertTokenizer lets [MASK] absorb the space before it.
    "mask_token": {"content": "[MASK]", "lstrip": True, "rstrip": False,
                   "normalized": False, "single_word": False},
}


def _json(value):
  return json.dumps(value, indent=2, sort_keys=True) + "\n"


def _write_tokenizer(directory, spm_model_file, vocab_file, do_lower_case,
                     max_length):
  if spm_model_file:
    shutil.copyfile(spm_model_file,
                    os.path.join(directory, hf_checkpoint.SPM_FILE))
    tokenizer_config = dict(_SPECIAL_TOKENS,
                            tokenizer_class="AlbertTokenizer",
                            do_lower_case=do_lower_case, remove_space=True,
                            keep_accents=False, model_max_length=max_length)
    special = _SPECIAL_TOKENS
  else:
    shutil.copyfile(vocab_file, os.path.join(directory, VOCAB_FILE))
    tokenizer_config = dict(tokenizer_class="BertTokenizer",
                            do_lower_case=do_lower_case,
                            model_max_length=max_length)
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]",
               "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}
  with open(os.path.join(directory, TOKENIZER_CONFIG_FILE), "w",
            encoding="utf-8") as f:
    f.write(_json(tokenizer_config))
  with open(os.path.join(directory, SPECIAL_TOKENS_FILE), "w",
            encoding="utf-8") as f:
    f.write(_json(special))


def hf_tensors(model):
  """(transformers class, {HF name: float32 ndarray}) of `model`."""
  architecture, entries = hf_name_map.hf_variable_map(model)
  tensors = {}
  for name, entry in entries.items():
    tensors[name] = np.ascontiguousarray(entry.value(), dtype=np.float32)
  return architecture, tensors


def save_hf_directory(model, directory, spm_model_file=None, vocab_file=None,
                      do_lower_case=True, id2label=None, problem_type=None,
                      overwrite=False):
  """Writes `model` as a Hugging Face directory; returns its path.

  Args:
    model: a Google-flavor AlbertEncoder, AlbertPretrainer or fine-tuning
      model (see hf_name_map).
    directory: the directory to create.
    spm_model_file / vocab_file: the tokenizer to include (SentencePiece
      wins when both are given); none is fine.
    do_lower_case: written to tokenizer_config.json.
    id2label: a classification head's label names in id order.
    problem_type: transformers' problem_type, e.g. "regression".
    overwrite: replace an existing `directory` (once the new one is
      complete).

  Raises:
    CheckpointError: albert_zh models, activations transformers lacks.
    OutputExistsError: `directory` exists and overwrite is False.
  """
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  for flag, path in (("spm_model_file", spm_model_file),
                     ("vocab_file", vocab_file)):
    if path and not os.path.isfile(path):
      raise CheckpointError(f"{flag} {path} does not exist")
  albert_config = hf_name_map.model_config(model)
  architecture, tensors = hf_tensors(model)
  config = hf_config.hf_config_from_albert(
      albert_config, architecture, id2label=id2label,
      problem_type=problem_type)
  with directory_written_atomically(directory, overwrite) as staging:
    with open(os.path.join(staging, hf_checkpoint.CONFIG_FILE), "w",
              encoding="utf-8") as f:
      f.write(_json(config))
    # transformers reads only archives that say they hold PyTorch tensors.
    save_file(tensors, os.path.join(staging, hf_checkpoint.SAFETENSORS_FILE),
              metadata={"format": "pt"})
    if spm_model_file or vocab_file:
      _write_tokenizer(staging, spm_model_file, vocab_file, do_lower_case,
                       albert_config.max_position_embeddings)
  return os.path.abspath(directory)
