"""The tokenizer as a TF Hub preprocessing SavedModel (like
tensorflow/albert_en_preprocess/3).

Loaded with `tf.saved_model.load(path)` (after `import tensorflow_text`,
which registers the tokenizer ops):

  preprocessor(strings [B])             → input_word_ids, input_mask,
                                        input_type_ids (int32 [B, seq_length])
                                        for one segment at the default length
  preprocessor.tokenize(strings [B])    → int32 RaggedTensor [B, (T)]
  preprocessor.tokenize.get_special_tokens_dict()
                                        → vocab_size, start_of_sequence_id
                                        ([CLS]), end_of_segment_id ([SEP]),
                                        padding_id, mask_id (int32 scalars)
  preprocessor.bert_pack_inputs([tokens_a(, tokens_b)], seq_length=N)
                                        → the packed dict at length N
                                        (N: a Python int or int32 scalar)
  preprocessor.seq_length / .vocab_size / .do_lower_case

Tokenization is albert_tf.tokenization's, so ids equal albert_tf.tokenization.python_tokenizer's
(Python) for the same file; packing truncates like the original
(longest-first). The SentencePiece model or the WordPiece vocabulary is
embedded in the graph: the export refers to no file of the machine that made
it. Signatures: serving_default (text → the packed dict) and
special_tokens (() → the special-token ids).
"""

import tensorflow as tf

from albert_tf import tokenization
from tfhub_export import export_utils

_AutoTrackable = tf.__internal__.tracking.AutoTrackable
DEFAULT_SEQ_LENGTH = 128
# Packing functions are traced for one and for two segments.
MAX_SEGMENTS = 2


def special_tokens_dict(tokenizer):
  """TF Hub's special-token names for an albert_tf graph tokenizer."""
  ids = tokenizer.special_ids
  return {
      "vocab_size": tokenizer.vocab_size,
      "start_of_sequence_id": ids["cls_id"],
      "end_of_segment_id": ids["sep_id"],
      "padding_id": ids["pad_id"],
      "mask_id": ids["mask_id"],
  }


def pack_segments(tokenizer, segments, seq_length):
  """albert_tf.tokenization.InputPacker with the tokenizer's special ids."""
  ids = tokenizer.special_ids
  packer = tokenization.InputPacker(seq_length, cls_id=ids["cls_id"],
                            sep_id=ids["sep_id"], pad_id=ids["pad_id"])
  return packer(list(segments))


class _Tokenize(_AutoTrackable):
  """preprocessor.tokenize: callable, with get_special_tokens_dict()."""

  def __init__(self, tokenizer):
    super().__init__()
    self._tokenizer = tokenizer
    special = special_tokens_dict(tokenizer)
    self.__call__ = tf.function(
        tokenizer.tokenize,
        input_signature=[tf.TensorSpec([None], tf.string)])
    self.get_special_tokens_dict = tf.function(
        lambda: {k: tf.constant(v, tf.int32) for k, v in special.items()},
        input_signature=[])


class _BertPackInputs(_AutoTrackable):
  """preprocessor.bert_pack_inputs(segments, seq_length=...)."""

  def __init__(self, tokenizer, default_seq_length):
    super().__init__()
    self._tokenizer = tokenizer

    def pack(segments, seq_length=default_seq_length):
      return pack_segments(tokenizer, segments, seq_length)

    self.__call__ = tf.function(pack)
    for num_segments in range(1, MAX_SEGMENTS + 1):
      segment_specs = [tf.RaggedTensorSpec([None, None], tf.int32,
                                           ragged_rank=1,
                                           row_splits_dtype=tf.int64)
                       ] * num_segments
      # The default length (static output shape) and any other one.
      self.__call__.get_concrete_function(segment_specs)
      self.__call__.get_concrete_function(
          segment_specs, seq_length=tf.TensorSpec([], tf.int32))


class PreprocessorSavedModel(_AutoTrackable):
  """The object tf.saved_model.save writes for the preprocessor export."""

  def __init__(self, tokenizer, seq_length=DEFAULT_SEQ_LENGTH,
               do_lower_case=True):
    super().__init__()
    self._tokenizer = tokenizer
    self.tokenize = _Tokenize(tokenizer)
    self.bert_pack_inputs = _BertPackInputs(tokenizer, seq_length)
    self.seq_length = tf.Variable(seq_length, trainable=False,
                                  name="seq_length")
    self.vocab_size = tf.Variable(tokenizer.vocab_size, trainable=False,
                                  name="vocab_size")
    self.do_lower_case = tf.Variable(do_lower_case, trainable=False,
                                     name="do_lower_case")

    def call(strings):
      return pack_segments(tokenizer, [tokenizer.tokenize(strings)],
                           seq_length)

    string_spec = tf.TensorSpec([None], tf.string, name="text")
    self.__call__ = tf.function(call, input_signature=[string_spec])
    special = special_tokens_dict(tokenizer)

    @tf.function(input_signature=[])
    def special_tokens():
      return {k: tf.constant(v, tf.int32) for k, v in special.items()}

    export_utils.set_untracked(self, "export_signatures", {
        "serving_default": self.__call__.get_concrete_function(),
        "special_tokens": special_tokens.get_concrete_function(),
    })
    self.variables = []
    self.trainable_variables = []
    self.regularization_losses = []


def export_preprocessor(tokenizer_spec, export_path, seq_length=128,
                        vocab_size=None, overwrite=False):
  """Writes the preprocessing SavedModel for a tokenizer file.

  Args:
    tokenizer_spec: export_utils.TokenizerSpec (SentencePiece model or
      WordPiece vocab.txt, do_lower_case).
    export_path: directory to write; it appears only once complete.
    seq_length: what calling the preprocessor on strings packs to.
    vocab_size: the model's vocab_size, to check the tokenizer against.
    overwrite: replace an existing `export_path`.

  Returns:
    The absolute export path.
  """
  if seq_length < 3:
    raise export_utils.ExportError(
        f"seq_length must be at least 3 ([CLS] x [SEP]), got {seq_length}")
  tokenizer = tokenizer_spec.graph_tokenizer(vocab_size)
  module = PreprocessorSavedModel(tokenizer, seq_length,
                                  tokenizer_spec.do_lower_case)
  return export_utils.save_module(module, export_path,
                                  signatures=module.export_signatures,
                                  overwrite=overwrite)
