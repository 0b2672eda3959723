"""Streaming, sharded, seeded generation of pretraining examples."""

import collections
import contextlib
import dataclasses
import os
import random
import shutil
import tempfile

import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.tokenization import python_tokenizer
from albert_tf.pretraining_data import chinese_wwm
from albert_tf.pretraining_data import documents
from albert_tf.pretraining_data import shard_files
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


@contextlib.contextmanager
def _local_copy(path):
  """`path`, or a local copy of it while in the block if it is remote.

  The tokenizers read their model with plain open(); a model on GCS
  (gs://..., as Beam workers are given it) is copied to a temporary file.
  """
  if not path or "://" not in path:
    yield path
    return
  directory = tempfile.mkdtemp(prefix="albert_tf_model_")
  try:
    local = os.path.join(directory, os.path.basename(path))
    try:
      tf.io.gfile.copy(path, local)
    except tf.errors.OpError as e:
      raise python_tokenizer.TokenizerError(
          f"cannot read {path}: {e.message}") from None
    yield local
  finally:
    shutil.rmtree(directory, ignore_errors=True)


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
        raise FlagError("--zh_whole_word_mask applies to WordPiece "
                        "(--vocab_file) models, not SentencePiece "
                        "(--spm_model_file)")
      self._segment = chinese_wwm.load_segmenter()
    with _local_copy(vocab_file) as local_vocab, \
        _local_copy(spm_model_file) as local_spm:
      self.tokenizer = python_tokenizer.FullTokenizer(
          local_vocab, do_lower_case=do_lower_case, spm_model_file=local_spm)
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


@dataclasses.dataclass
class ShardStats:
  """Counters of one shard's generation (summed into the stats file and
  reported as progress and as Beam metrics)."""
  documents: int = 0        # Documents that yielded tokens.
  empty_documents: int = 0  # Documents whose lines all tokenize to nothing.
  skipped_lines: int = 0    # Non-blank lines that tokenize to nothing.
  instances: int = 0        # Examples written.
  masked_tokens: int = 0    # Masked-LM predictions over all examples.

  def as_dict(self):
    return dataclasses.asdict(self)


def shard_of_document(document_index, num_shards):
  """The one rule that sends documents to shards, for every driver.

  Document i (numbered across all input files, in --input_file order) goes
  to shard i mod num_shards, so each shard samples the whole corpus.
  """
  return document_index % num_shards


def shard_documents(files, shard_index, num_shards, on_bytes=None):
  """Shard `shard_index`'s documents (lists of lines), in corpus order.

  Reads all of `files`, building only this shard's documents.
  """
  for _, lines in documents.iter_documents(
      files, keep=lambda i: shard_of_document(i, num_shards) == shard_index,
      on_bytes=on_bytes):
    yield lines


def shard_examples(shard_docs, shard_index, tokenizer, config, stats=None):
  """Serialized tf.train.Examples of one shard, shuffled within a buffer.

  `shard_docs` yields the shard's documents (lists of text lines) in corpus
  order; the result depends only on them, the shard index and `config`.
  """
  stats = stats if stats is not None else ShardStats()
  rng = shard_rng(config.random_seed, shard_index)
  pool = collections.deque(maxlen=config.document_pool_size)
  buffer = []
  seq_length = config.max_seq_length
  predictions = config.masking.max_predictions_per_seq
  for lines in shard_docs:
    document = []
    for line in lines:
      tokens = tokenizer.tokenize_line(line)
      if tokens:
        document.append(tokens)
      else:
        stats.skipped_lines += 1
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
        stats.masked_tokens += len(instance.masked_lm_positions)
        if len(buffer) < config.shuffle_buffer_size:
          buffer.append(example)
        else:
          j = rng.randrange(len(buffer))
          yield buffer[j]
          buffer[j] = example
    pool.append(document)
  rng.shuffle(buffer)
  yield from buffer


def generate_shard_examples(files, shard_index, num_shards, tokenizer, config,
                            stats=None, on_bytes=None):
  """shard_examples of shard `shard_index` of `num_shards`, read from files."""
  return shard_examples(
      shard_documents(files, shard_index, num_shards, on_bytes=on_bytes),
      shard_index, tokenizer, config, stats)


def write_shard(output_file, shard_index, num_shards, shard_docs, tokenizer,
                config, on_example=None):
  """Produces shard `shard_index`'s file from its documents; returns stats.

  The one implementation both drivers call (local worker processes, and the
  Beam pipeline's per-shard step): given the same documents in the same
  order, it writes the same bytes. The shard appears under its final name
  only when complete; its statistics are recorded for the stats file just
  before that, so that a run killed in between leaves a shard that is
  redone rather than a complete shard without statistics (which a rerun
  would skip). `on_example(stats)` is called after each example is written.
  """
  path = shard_files.shard_paths(output_file, num_shards)[shard_index]
  stats = ShardStats()
  examples = shard_examples(shard_docs, shard_index, tokenizer, config, stats)
  if on_example is not None:
    examples = _observed(examples, on_example, stats)
  shard_files.write_tfrecord_atomically(
      path, examples, before_rename=lambda _: shard_files.record_shard_stats(
          output_file, path, stats.as_dict()))
  return stats


def _observed(examples, on_example, stats):
  for example in examples:
    yield example
    on_example(stats)
