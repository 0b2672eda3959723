"""train_sentencepiece's job: an ALBERT SentencePiece model from a corpus.

  sentencepiece_training.train(sentencepiece_training_settings.defaults(
      input="corpus/*.txt", model_prefix="out/30k-clean", vocab_size=30000))

The original release's settings (special pieces, coverage), a reproducible
line sample, training in a temporary directory and publishing .vocab then
.model, and a coverage report. albert_tf/train_sentencepiece.py is its
command line and documents the behaviour in full.
"""

import codecs
import os
import random
import re
import shutil
import tempfile
import time

import sentencepiece as spm
from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2
import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.errors import UserError
from albert_tf.files import disk_full
from albert_tf.files.file_patterns import expand_file_patterns
from albert_tf.tokenization import python_tokenizer


PAD_PIECE = "<pad>"
UNK_PIECE = "<unk>"
PAD_ID = 0
UNK_ID = 1
CONTROL_SYMBOLS = ("[CLS]", "[SEP]", "[MASK]")
USER_DEFINED_SYMBOLS = ("(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac")
# <pad> and <unk>, then the control and the user-defined symbols.
SPECIAL_PIECES = ((PAD_PIECE, UNK_PIECE) + CONTROL_SYMBOLS +
                  USER_DEFINED_SYMBOLS)
NUM_SPECIAL_PIECES = len(SPECIAL_PIECES)
# How often reading reports progress, in kept lines.
PROGRESS_EVERY = 1_000_000


class TrainError(UserError):
  """A problem with the input, the outputs or training that the user can fix."""


def expand_inputs(patterns):
  """The files --input names (see file_patterns.expand_file_patterns)."""
  return expand_file_patterns(patterns, "input", error=TrainError)


def _open_binary(path):
  # The builtin reads local files faster; gfile also reads gs:// and the like.
  if "://" in path:
    return tf.io.gfile.GFile(path, "rb")
  return open(path, "rb")  # pylint: disable=consider-using-with


class Corpus:
  """The preprocessed, non-empty lines of the input files, with counts.

  Counts are complete once `lines()` has been read to the end.
  """

  def __init__(self, paths, lower, max_sentence_length, keep_head=0,
               log=print):
    self.paths = paths
    self.lower = lower
    self.max_sentence_length = max_sentence_length
    self.keep_head = keep_head
    self.log = log
    self.num_lines = 0  # Lines kept for training.
    self.num_chars = 0  # Characters of those lines, after preprocessing.
    self.num_blank = 0
    self.num_too_long = 0
    # The first kept lines, for the coverage report after training.
    self.head = []

  def lines(self):
    """Yields the kept lines; raises TrainError on unreadable input."""
    for path in self.paths:
      yield from self._file_lines(path)
    if not self.num_lines:
      named = ", ".join(self.paths[:3])
      if len(self.paths) > 3:
        named += f" and {len(self.paths) - 3} more"
      raise TrainError(f"--input {named}: no non-empty lines that fit "
                       "--max_sentence_length (empty or whitespace-only "
                       "files?)")
    self.log(f"read {self.num_lines:,} lines ({self.num_chars:,} characters) "
             f"from {len(self.paths):,} file(s); skipped {self.num_blank:,} "
             "blank lines")
    if self.num_too_long:
      self.log(f"skipped {self.num_too_long:,} lines longer than "
               f"{self.max_sentence_length:,} bytes (--max_sentence_length)")

  def _file_lines(self, path):
    try:
      with _open_binary(path) as f:
        for line_number, raw in enumerate(f, start=1):
          text = self._preprocess(path, line_number, raw)
          if text is not None:
            yield text
    except (OSError, tf.errors.OpError) as e:
      raise TrainError(f"cannot read {path}: {e}") from None

  def _preprocess(self, path, line_number, raw):
    """The line to train on, or None for a line that is skipped."""
    if line_number == 1 and raw.startswith(codecs.BOM_UTF8):
      # A byte-order mark is file metadata, not text to learn pieces from.
      raw = raw[len(codecs.BOM_UTF8):]
    try:
      text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      raise TrainError(
          f"{path}:{line_number}: not valid UTF-8 (bytes "
          f"{raw[e.start:e.start + 4]!r} at byte {e.start} of the line); "
          "convert the input to UTF-8") from None
    text = python_tokenizer.preprocess_text(text, lower=self.lower)
    if not text:
      self.num_blank += 1
      return None
    if len(text.encode("utf-8")) > self.max_sentence_length:
      self.num_too_long += 1
      return None
    self.num_lines += 1
    self.num_chars += len(text)
    if len(self.head) < self.keep_head:
      self.head.append(text)
    if self.num_lines % PROGRESS_EVERY == 0:
      self.log(f"  read {self.num_lines:,} lines...")
    return text


def sample_lines(lines, sample_size, seed):
  """A uniform sample of sample_size lines in corpus order (reservoir).

  Yields all lines, streaming them, when sample_size is 0.
  """
  if not sample_size:
    yield from lines
    return
  rng = random.Random(seed)
  reservoir = []
  for index, line in enumerate(lines):
    if index < sample_size:
      reservoir.append((index, line))
    else:
      slot = rng.randint(0, index)
      if slot < sample_size:
        reservoir[slot] = (index, line)
  reservoir.sort()
  for _, line in reservoir:
    yield line


def _recording_errors(lines, errors):
  # sentencepiece reports an exception from its sentence iterator only as
  # text inside a RuntimeError; keeping it lets the caller re-raise it as is.
  try:
    yield from lines
  except (Exception, KeyboardInterrupt) as e:  # pylint: disable=broad-except
    errors.append(e)
    raise


def train_model(sentences, model_prefix, vocab_size, character_coverage,
                num_threads, seed_sentencepiece_size=None, verbose=False):
  """Trains with the original ALBERT settings into model_prefix.{model,vocab}.

  Raises TrainError when training fails, or re-raises what the sentences
  iterator raised.
  """
  errors = []
  options = dict(
      model_type="unigram",
      vocab_size=vocab_size,
      pad_id=PAD_ID,
      unk_id=UNK_ID,
      bos_id=-1,
      eos_id=-1,
      pad_piece=PAD_PIECE,
      unk_piece=UNK_PIECE,
      control_symbols=list(CONTROL_SYMBOLS),
      user_defined_symbols=list(USER_DEFINED_SYMBOLS),
      character_coverage=character_coverage,
      num_threads=num_threads,
      # Lines are sampled (reproducibly) before they get here.
      input_sentence_size=0,
      # sentencepiece logs every step at INFO; warnings and errors remain.
      minloglevel=0 if verbose else 1,
  )
  if seed_sentencepiece_size is not None:
    options["seed_sentencepiece_size"] = seed_sentencepiece_size
  try:
    spm.SentencePieceTrainer.train(
        sentence_iterator=_recording_errors(sentences, errors),
        model_prefix=model_prefix, **options)
  except RuntimeError as e:
    if errors:
      raise errors[0] from None
    too_high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set "
                         r"it to a value <= (\d+)", str(e))
    if too_high:
      raise TrainError(
          f"--vocab_size {too_high.group(1)} is more pieces than this corpus "
          f"yields (at most {too_high.group(2)}); lower --vocab_size or add "
          "text") from None
    raise TrainError(f"sentencepiece training failed: {e}") from None


def record_model_prefix(model_file, model_prefix):
  """Stores the prefix's file name in the model, not the temporary path.

  sentencepiece records its model_prefix argument in the .model; left as the
  random temporary directory it would make the bytes of every run differ.
  The file name alone (as in the released models, e.g. "30k-clean") keeps
  the bytes independent of the output directory and keeps local paths out
  of a model that may be published.

  Args:
    model_file: the .model file to rewrite.
    model_prefix: the output prefix the user gave.
  """
  proto = sentencepiece_model_pb2.ModelProto()
  with open(model_file, "rb") as f:
    proto.ParseFromString(f.read())
  proto.trainer_spec.model_prefix = os.path.basename(model_prefix)
  with open(model_file, "wb") as f:
    f.write(proto.SerializeToString())


def check_space_left(directory, probe_bytes=1 << 20):
  """Raises OSError(ENOSPC) when `probe_bytes` no longer fit in `directory`.

  Writes (and removes) a probe file: free-space figures do not say whether
  a write just failed for lack of space (quotas, reserved blocks).
  """
  fd, probe = tempfile.mkstemp(prefix=".space-probe-", dir=directory)
  try:
    os.write(fd, b"\0" * probe_bytes)
    os.fsync(fd)
  finally:
    os.close(fd)
    os.remove(probe)


def check_model(sp_model, vocab_size):
  """Raises TrainError unless the model has the ALBERT layout."""
  if sp_model.GetPieceSize() != vocab_size:
    raise TrainError(f"the trained model has {sp_model.GetPieceSize()} "
                     f"pieces, not --vocab_size={vocab_size}")
  got = tuple(sp_model.IdToPiece(i) for i in range(NUM_SPECIAL_PIECES))
  if got != SPECIAL_PIECES:
    raise TrainError(f"the trained model starts with {got}, not "
                     f"{SPECIAL_PIECES}")


def _encode_to_protos(sp_model, lines):
  """SentencePieceText protos (pieces with ids and surfaces) for lines."""
  try:
    # Recent sentencepiece (0.2.3 here) refuses out_type="immutable_proto".
    return sp_model.encode(lines, return_type="proto")
  except TypeError:
    # Earlier versions know neither return_type nor "proto".
    return sp_model.encode(lines, out_type="immutable_proto")


def _non_space_length(text):
  return sum(not c.isspace() for c in text)


class Coverage:
  """How the model encodes some lines: unknown characters, pieces per word."""

  def __init__(self, num_lines, num_chars, num_unknown_chars, num_words,
               num_pieces):
    self.num_lines = num_lines
    self.num_chars = num_chars  # Not counting whitespace.
    self.num_unknown_chars = num_unknown_chars
    self.num_words = num_words  # Whitespace-separated.
    self.num_pieces = num_pieces

  @property
  def unknown_rate(self):
    return self.num_unknown_chars / max(self.num_chars, 1)

  def describe(self, total_lines):
    if self.num_lines < total_lines:
      scope = f"the first {self.num_lines:,} of {total_lines:,} lines"
    else:
      scope = f"all {self.num_lines:,} lines"
    return (f"coverage on {scope}: unknown-character rate "
            f"{100 * self.unknown_rate:.4f}% ({self.num_unknown_chars:,} of "
            f"{self.num_chars:,} non-space chars); "
            f"{self.num_pieces / max(self.num_words, 1):.2f} pieces per "
            f"word; {self.num_pieces / max(self.num_lines, 1):.1f} pieces "
            "per line")


def measure_coverage(sp_model, lines):
  """Encodes the (preprocessed) lines and counts what maps to <unk>."""
  num_chars = num_unknown = num_words = num_pieces = 0
  for line, encoded in zip(lines, _encode_to_protos(sp_model, lines)):
    num_chars += _non_space_length(line)
    num_words += len(line.split())
    num_pieces += len(encoded.pieces)
    # sentencepiece merges a run of unknown characters into one <unk>
    # piece, so count the characters of its surface, not the pieces.
    num_unknown += sum(_non_space_length(p.surface)
                       for p in encoded.pieces if p.id == UNK_ID)
  return Coverage(len(lines), num_chars, num_unknown, num_words, num_pieces)


def output_paths(model_prefix):
  return model_prefix + ".model", model_prefix + ".vocab"


def check_outputs_absent(model_prefix, overwrite):
  if overwrite:
    return
  for path in output_paths(model_prefix):
    if os.path.lexists(path):
      raise TrainError(f"{path} exists; pass --overwrite to replace it")


def publish(tmp_prefix, model_prefix):
  """Moves the trained files into place, the .model last.

  A reader that finds the .model therefore finds its .vocab beside it.
  """
  model_path, vocab_path = output_paths(model_prefix)
  tmp_model, tmp_vocab = output_paths(tmp_prefix)
  os.replace(tmp_vocab, vocab_path)
  try:
    os.replace(tmp_model, model_path)
  except OSError:
    # A new .vocab without its .model would be taken for the old model's.
    try:
      os.remove(vocab_path)
    except OSError:
      pass
    raise


def run(paths, model_prefix, vocab_size, do_lower_case=True,
        character_coverage=0.99995, input_sentence_size=0, random_seed=12345,
        num_threads=16, seed_sentencepiece_size=None,
        max_sentence_length=4192, coverage_lines=10000, overwrite=False,
        verbose=False, log=print):
  """Trains and publishes <model_prefix>.{model,vocab}; raises TrainError."""
  check_outputs_absent(model_prefix, overwrite)
  out_dir = os.path.dirname(os.path.abspath(model_prefix))
  try:
    os.makedirs(out_dir, exist_ok=True)
    # Beside the outputs, so os.replace moves within one file system.
    tmp_dir = tempfile.mkdtemp(
        prefix=f".{os.path.basename(model_prefix)}.tmp-", dir=out_dir)
  except OSError as e:
    raise TrainError(f"cannot write to {out_dir}: {e}") from None
  try:
    corpus = Corpus(paths, do_lower_case, max_sentence_length,
                    keep_head=coverage_lines, log=log)
    sentences = sample_lines(corpus.lines(), input_sentence_size,
                             random_seed)
    log(f"reading {len(paths):,} file(s); training a {vocab_size:,}-piece "
        f"unigram model with {num_threads} threads")
    start = time.time()
    tmp_prefix = os.path.join(tmp_dir, "spm")
    with disk_full.reported_as(f"{model_prefix}.model"):
      train_model(sentences, tmp_prefix, vocab_size, character_coverage,
                  num_threads, seed_sentencepiece_size, verbose)
    if input_sentence_size and corpus.num_lines > input_sentence_size:
      log(f"trained on a sample of {input_sentence_size:,} lines "
          f"(--random_seed={random_seed})")
    log(f"trained in {time.time() - start:.1f}s")
    tmp_model, _ = output_paths(tmp_prefix)
    with disk_full.reported_as(f"{model_prefix}.model"):
      try:
        record_model_prefix(tmp_model, model_prefix)
        sp_model = spm.SentencePieceProcessor(model_file=tmp_model)
        check_model(sp_model, vocab_size)
      except (DecodeError, RuntimeError, TrainError) as e:
        # sentencepiece does not check its writes: on a full disk it leaves
        # a cut-off .model and reports success.
        check_space_left(tmp_dir)
        if isinstance(e, TrainError):
          raise
        raise TrainError(f"sentencepiece wrote an unreadable model for "
                         f"{model_prefix}.model: {e}") from None
    coverage = (measure_coverage(sp_model, corpus.head)
                if corpus.head else None)
    # Outputs may have appeared while training ran.
    check_outputs_absent(model_prefix, overwrite)
    try:
      publish(tmp_prefix, model_prefix)
    except OSError as e:
      raise TrainError(f"cannot write {model_prefix}.*: {e}") from None
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
  for path in output_paths(model_prefix):
    log(f"wrote {path}")
  if coverage is not None:
    log(coverage.describe(corpus.num_lines))
  return coverage


def validate(settings):
  """Raises FlagError for missing or out-of-range settings."""
  for name in ("input", "model_prefix", "vocab_size"):
    if getattr(settings, name) is None:
      raise FlagError(f"--{name} is required")
  prefix = settings.model_prefix
  if not prefix or prefix.endswith(("/", os.sep)) or os.path.isdir(prefix):
    raise FlagError(
        f"--model_prefix={prefix!r} must be a path prefix, not a directory")
  if "://" in prefix:
    raise FlagError(
        "--model_prefix must be a local path: the outputs are moved into "
        "place with os.replace")
  if settings.vocab_size <= NUM_SPECIAL_PIECES:
    raise FlagError(
        f"--vocab_size={settings.vocab_size} must be greater than "
        f"{NUM_SPECIAL_PIECES}, the number of special and user-defined "
        f"symbols ({' '.join(SPECIAL_PIECES)})")
  if not 0 < settings.character_coverage <= 1:
    raise FlagError("--character_coverage must be in (0, 1]")
  if settings.num_threads < 1:
    raise FlagError("--num_threads must be at least 1")
  if settings.input_sentence_size < 0:
    raise FlagError("--input_sentence_size must be 0 (all) or more")
  if settings.max_sentence_length < 1:
    raise FlagError("--max_sentence_length must be at least 1")
  if settings.coverage_lines < 0:
    raise FlagError("--coverage_lines must be 0 (no report) or more")
  if (settings.seed_sentencepiece_size is not None and
      settings.seed_sentencepiece_size < 1):
    raise FlagError("--seed_sentencepiece_size must be at least 1")


def _log(message):
  print(message, flush=True)


def train(settings, log=_log):
  """Validates the settings, then trains and publishes the model."""
  validate(settings)
  return run(expand_inputs(settings.input), settings.model_prefix,
             settings.vocab_size, do_lower_case=settings.do_lower_case,
             character_coverage=settings.character_coverage,
             input_sentence_size=settings.input_sentence_size,
             random_seed=settings.random_seed,
             num_threads=settings.num_threads,
             seed_sentencepiece_size=settings.seed_sentencepiece_size,
             max_sentence_length=settings.max_sentence_length,
             coverage_lines=settings.coverage_lines,
             overwrite=settings.overwrite, verbose=settings.verbose, log=log)
