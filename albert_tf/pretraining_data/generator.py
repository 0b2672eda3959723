"""Streaming, sharded, seeded generation of pretraining examples."""

import collections
import dataclasses
import os
import random

import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.tokenization import python_tokenizer
from albert_tf.pretraining_data import chinese_wwm
from albert_tf.pretraining_data import documents
from albert_tf.pretraining_data.tfrecord_features import instance_to_example
from albert_tf.pretraining_data.instances import create_instances_from_document
from albert_tf.pretraining_data.masking import MaskingConfig
from albert_tf.pretraining_data.masking import is_start_piece_sentencepiece
from albert_tf.pretraining_data.masking import is_start_piece_wordpiece


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
  """The original flags (same defaults) plus the bounds that make it scale."""
  max_seq_length: int = 512
  dupe_factor: int = 40
  short_seq_prob: float = 0.1
  random_next_sentence: bool = False
  random_seed: int = 12345
  masking: MaskingConfig = MaskingConfig()
  # Other documents (of the same shard) that "random document" segments are
  # drawn from; the original drew from the whole corpus held in memory.
  document_pool_size: int = 1000
  # Examples shuffled before writing; the original shuffled all of them.
  shuffle_buffer_size: int = 10000

  def validate(self):
    m = self.masking
    checks = [
        (self.max_seq_length >= 5, "max_seq_length must be at least 5"),
        (self.dupe_factor >= 1, "dupe_factor must be at least 1"),
        (0 <= self.short_seq_prob <= 1, "short_seq_prob must be in [0, 1]"),
        (0 <= m.masked_lm_prob < 1, "masked_lm_prob must be in [0, 1)"),
        (m.max_predictions_per_seq >= 1,
         "max_predictions_per_seq must be at least 1"),
        (m.ngram >= 1, "ngram must be at least 1"),
        (self.document_pool_size >= 1, "document_pool_size must be >= 1"),
        (self.shuffle_buffer_size >= 1, "shuffle_buffer_size must be >= 1"),
    ]
    for ok, message in checks:
      if not ok:
        raise FlagError(f"--{message}")


class LineTokenizer:
  """The original's per-line preprocessing and tokenization, and id lookup."""

  def __init__(self, vocab_file=None, spm_model_file=None,
               do_lower_case=True, zh_whole_word_mask=False):
    self.vocab_file = vocab_file
    self.spm_model_file = spm_model_file
    self.do_lower_case = do_lower_case
    self.zh_whole_word_mask = zh_whole_word_mask
    self._segment = None
    if zh_whole_word_mask:
      if spm_model_file:
        raise ValueError("--zh_whole_word_mask applies to WordPiece "
                         "(--vocab_file) models, not SentencePiece")
      self._segment = chinese_wwm.load_segmenter()
    self.tokenizer = python_tokenizer.FullTokenizer(
        vocab_file, do_lower_case=do_lower_case, spm_model_file=spm_model_file)
    self.vocab_words = list(self.tokenizer.vocab.keys())
    if spm_model_file:
      self.is_start_piece = is_start_piece_sentencepiece
    else:
      self.is_start_piece = is_start_piece_wordpiece
    for token in ("[CLS]", "[SEP]", "[MASK]"):
      if token not in self.tokenizer.vocab:
        raise python_tokenizer.TokenizerError(
            f"{spm_model_file or vocab_file} has no {token} token")

  def tokenize_line(self, line):
    if self.spm_model_file:
      line = python_tokenizer.preprocess_text(line, lower=self.do_lower_case)
    else:
      line = line.strip()
    if not line:
      return []
    tokens = self.tokenizer.tokenize(line)
    if self._segment is not None:
      tokens = chinese_wwm.mark_whole_words(tokens, self._segment(line))
    return tokens

  def tokens_to_ids(self, tokens):
    if self._segment is not None:
      tokens = [chinese_wwm.strip_marker(t) for t in tokens]
    # SentencePiece maps pieces missing from the vocabulary to <unk>.
    return self.tokenizer.convert_tokens_to_ids(tokens)


def shard_rng(random_seed, shard_index):
  """A generator that depends only on the seed and the shard, so output is
  the same whatever the number of worker processes."""
  return random.Random(f"albert_tf/{random_seed}/{shard_index}")


class ShardStats:
  """Counters a shard's generation reports (and progress displays)."""

  def __init__(self):
    self.documents = 0
    self.empty_documents = 0
    self.instances = 0


def generate_shard_examples(files, shard_index, num_shards, tokenizer, config,
                            stats=None, on_bytes=None):
  """Serialized tf.train.Examples of one shard, shuffled within a buffer.

  Shard s takes documents s, s + num_shards, ... of the stream.
  """
  stats = stats or ShardStats()
  rng = shard_rng(config.random_seed, shard_index)
  pool = collections.deque(maxlen=config.document_pool_size)
  buffer = []
  seq_length = config.max_seq_length
  predictions = config.masking.max_predictions_per_seq
  for _, lines in documents.iter_documents(
      files, keep=lambda i: i % num_shards == shard_index, on_bytes=on_bytes):
    document = [t for t in map(tokenizer.tokenize_line, lines) if t]
    if not document:
      stats.empty_documents += 1
      continue
    stats.documents += 1
    others = list(pool)
    for _ in range(config.dupe_factor):
      for instance in create_instances_from_document(
          document, others, seq_length, config.short_seq_prob,
          config.random_next_sentence, config.masking, tokenizer.vocab_words,
          tokenizer.is_start_piece, rng):
        example = instance_to_example(instance, tokenizer.tokens_to_ids,
                                      seq_length, predictions)
        stats.instances += 1
        if len(buffer) < config.shuffle_buffer_size:
          buffer.append(example)
        else:
          j = rng.randrange(len(buffer))
          yield buffer[j]
          buffer[j] = example
    pool.append(document)
  rng.shuffle(buffer)
  yield from buffer


def write_tfrecord_atomically(path, examples):
  """Writes all examples to `path` via a temporary name; returns the count."""
  tmp = f"{path}.tmp-{os.getpid()}"
  count = 0
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for example in examples:
        writer.write(example)
        count += 1
    tf.io.gfile.rename(tmp, path, overwrite=True)
  except BaseException:
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.remove(tmp)
    raise
  return count


def remove_partial_files(path):
  """Deletes temporary files a killed or failed writer left for `path`."""
  for leftover in tf.io.gfile.glob(f"{path}.tmp-*"):
    tf.io.gfile.remove(leftover)


def shard_paths(output_file, num_shards):
  """Output names: `output_file` itself, or NAME-00000-of-00004 style."""
  if num_shards == 1:
    return [output_file]
  return [f"{output_file}-{i:05d}-of-{num_shards:05d}"
          for i in range(num_shards)]
