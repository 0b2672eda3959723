r"""Trains an ALBERT SentencePiece model on a custom corpus.

  python -m albert_tf.train_sentencepiece --input='corpus/*.txt' \
      --model_prefix=out/30k-clean --vocab_size=30000

The settings are those of the original ALBERT release (30k-clean.model): a
unigram model with <pad>=0 and <unk>=1, no <s> or </s>, the control symbols
[CLS]=2, [SEP]=3, [MASK]=4, the user-defined symbols ( ) " - . and the en
dash, pound and euro signs at ids 5 to 12, and character coverage 0.99995.

Input: UTF-8 text files, one sentence or paragraph per line. Blank lines
(document separators in pretraining corpora) are skipped. Every line goes
through python_tokenizer.preprocess_text (whitespace collapsed, NFKD, accents
dropped, lowercased with --do_lower_case), as the data readers do before
encoding. A line that is not valid UTF-8 stops the run with an error naming
the file and line number, and nothing is written: convert such a corpus to
UTF-8 first (for example with iconv). Skipping those lines would quietly drop
the characters of a corpus in the wrong encoding from the vocabulary. Lines
longer than --max_sentence_length bytes are skipped and counted, as
sentencepiece itself would skip them.

Output: <model_prefix>.model and <model_prefix>.vocab. They are trained in a
temporary directory beside the outputs and moved into place only on success,
.vocab first and .model last, so a failed run leaves neither. Existing outputs
are kept unless --overwrite is given. A report of how well the model covers
the first --coverage_lines lines of the corpus follows.

Reproducibility: the same input files, flags and sentencepiece version give a
byte-identical .model; it records only the file name of --model_prefix, so
the output directory does not matter. --num_threads changes the result
slightly, so it has a fixed default instead of the machine's core count.
--input_sentence_size samples lines here with --random_seed, because
sentencepiece's own sampling is not reproducible.

The job: albert_tf/tokenization/sentencepiece_training.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position

from albert_tf.cli import flag_table
from albert_tf.tokenization.sentencepiece_training import train
from albert_tf.tokenization.sentencepiece_training_settings import defaults
from albert_tf.tokenization.sentencepiece_training_settings import SentencePieceTrainingSettings

__all__ = ["SentencePieceTrainingSettings", "defaults", "define_flags",
           "train"]


def define_flags():
  """Defines the command-line flags, when run as a program.

  Entry points share flag names such as --input, so defining them on import
  would make importing two of them into one process (as tests do) fail.
  """
  flag_table.define_flags(SentencePieceTrainingSettings)


def main(argv):
  return flag_table.run_job(
      lambda: train(flag_table.settings_from_flags(
          SentencePieceTrainingSettings)), argv)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=flag_table.parse_flags)
