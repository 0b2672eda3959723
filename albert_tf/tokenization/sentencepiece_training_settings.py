"""train_sentencepiece's settings. albert_tf/train_sentencepiece.py is their
command line; sentencepiece_training.train(settings) does what they ask."""

import dataclasses

from albert_tf import settings as settings_lib
from albert_tf.settings import setting


@dataclasses.dataclass
class SentencePieceTrainingSettings:
  """The command line of train_sentencepiece."""
  input: str | None = setting(
      None, "Comma-separated file globs (local or tf.io.gfile paths) of "
      "UTF-8 text, one sentence or paragraph per line; blank lines are "
      "skipped. A line that is not valid UTF-8 is an error naming its file "
      "and line number.")
  model_prefix: str | None = setting(
      None, "Local output path prefix: writes <prefix>.model and "
      "<prefix>.vocab.")
  vocab_size: int | None = setting(
      None, "Number of pieces, special symbols included.")
  do_lower_case: bool = setting(
      True, "Lowercase the text before training, as for the uncased ALBERT "
      "models.")
  character_coverage: float = setting(
      0.99995, "Fraction of the corpus characters the alphabet covers.")
  input_sentence_size: int = setting(
      0, "Train on a uniform sample of this many lines (0: all lines), "
      "drawn with --random_seed.")
  random_seed: int = setting(
      12345, "Seed for the --input_sentence_size sample.")
  num_threads: int = setting(
      16, "Training threads. The result depends slightly on this number.")
  seed_sentencepiece_size: int | None = setting(
      None, "Initial candidate pieces for the unigram model (default: "
      "sentencepiece's).")
  max_sentence_length: int = setting(
      4192, "Lines longer than this many bytes are skipped (sentencepiece's "
      "limit).")
  coverage_lines: int = setting(
      10000, "Measure coverage on this many of the first lines (0: no "
      "report).")
  overwrite: bool = setting(
      False, "Replace an existing <prefix>.model and <prefix>.vocab.")
  verbose: bool = setting(False, "Show sentencepiece's own training log.")


def defaults(**values):
  """The settings from Python: the flag defaults with `values` on top."""
  return settings_lib.defaults(SentencePieceTrainingSettings, **values)
