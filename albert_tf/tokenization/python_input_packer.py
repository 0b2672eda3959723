"""Turning text into ALBERT input ids the way the original fine-tuning does.

[CLS] A [SEP] (B [SEP]), type id 1 on B [SEP], zero padding, and the
original's pair truncation (pop from the longer segment, B on ties).
"""

import numpy as np

from albert_tf import errors
from albert_tf.tokenization import python_tokenizer


def make_tokenizer(vocab_file=None, spm_model_file=None, do_lower_case=True):
  """FullTokenizer for the flags; SentencePiece wins when both are given."""
  if not vocab_file and not spm_model_file:
    raise errors.FlagError("pass --spm_model_file (SentencePiece) or "
                           "--vocab_file (WordPiece)")
  return python_tokenizer.FullTokenizer(
      vocab_file=None if spm_model_file else vocab_file,
      do_lower_case=do_lower_case, spm_model_file=spm_model_file)


def special_ids(tokenizer):
  """cls/sep/pad/mask ids of a FullTokenizer's vocabulary (mask_id -1 when
  it has no [MASK])."""
  vocab = tokenizer.vocab
  missing = [t for t in ("[CLS]", "[SEP]") if t not in vocab]
  if missing:
    raise ValueError(f"vocabulary has no {', '.join(missing)} token")
  pad = vocab.get("<pad>", vocab.get("[PAD]", 0))
  return {"cls_id": vocab["[CLS]"], "sep_id": vocab["[SEP]"], "pad_id": pad,
          "mask_id": vocab.get("[MASK]", -1)}


def truncate_seq_pair(tokens_a, tokens_b, max_length):
  """The original _truncate_seq_pair: pops the longer list's tail in place."""
  while len(tokens_a) + len(tokens_b) > max_length:
    if len(tokens_a) > len(tokens_b):
      tokens_a.pop()
    else:
      tokens_b.pop()


def text_to_ids(tokenizer, text):
  """Ids of `text` as the original fine-tuning readers made them.

  SentencePiece tokenizers do not lowercase: the readers ran
  preprocess_text(text, lower=do_lower_case) first (whitespace collapsed,
  accents dropped), as the in-graph tokenizers of the exports do.
  """
  if tokenizer.sp_model is not None:
    text = python_tokenizer.preprocess_text(text, lower=tokenizer.do_lower_case)
  return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))


class Packer:
  """Packs token-id lists into fixed-length model inputs."""

  def __init__(self, tokenizer, max_seq_length):
    if max_seq_length < 3:
      raise ValueError(f"max_seq_length must be at least 3, got "
                       f"{max_seq_length}")
    self.tokenizer = tokenizer
    self.max_seq_length = max_seq_length
    ids = special_ids(tokenizer)
    self.cls_id, self.sep_id, self.pad_id = (ids["cls_id"], ids["sep_id"],
                                             ids["pad_id"])

  def ids(self, text):
    return text_to_ids(self.tokenizer, text)

  def pack_ids(self, ids_a, ids_b=None):
    """→ dict of int32 arrays input_word_ids/input_mask/input_type_ids [S]."""
    ids_a = list(ids_a)
    if ids_b is None:
      ids_a = ids_a[:self.max_seq_length - 2]
      ids_b = []
    else:
      ids_b = list(ids_b)
      truncate_seq_pair(ids_a, ids_b, self.max_seq_length - 3)
    word_ids = [self.cls_id] + ids_a + [self.sep_id]
    type_ids = [0] * len(word_ids)
    if ids_b:
      word_ids += ids_b + [self.sep_id]
      type_ids += [1] * (len(ids_b) + 1)
    return self.pad(word_ids, type_ids)

  def pad(self, word_ids, type_ids):
    length = len(word_ids)
    padding = self.max_seq_length - length
    return {
        "input_word_ids": np.array(word_ids + [self.pad_id] * padding,
                                   np.int32),
        "input_mask": np.array([1] * length + [0] * padding, np.int32),
        "input_type_ids": np.array(type_ids + [0] * padding, np.int32),
    }

  def pack_text(self, text_a, text_b=None):
    return self.pack_ids(self.ids(text_a),
                         None if text_b is None else self.ids(text_b))
