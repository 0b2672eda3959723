r"""Tokens/s of the Python and in-graph tokenizers, next to their raw engines.

  python -m benchmarks.tokenizer_benchmark \
      --input=testdata/tokenization/stdlib_docs.txt \
      --spm_model_file=testdata/tokenization/tiny-clean.model \
      --vocab_file=testdata/tokenization/zh_vocab.txt

SentencePiece rows: raw `sentencepiece` (the library alone, no
preprocessing), our Python path (preprocess_text + FullTokenizer) and our
in-graph path (tf.function over batches). WordPiece rows: our Python path,
our in-graph path and tensorflow_text's BertTokenizer (which is faster but
not original-exact: it case-folds with NFKC). The best of --repeats timings
is reported.
"""

import time

from absl import app
from absl import flags
import sentencepiece as spm
import tensorflow as tf
import tensorflow_text as tf_text

from albert_tf import tokenization
from albert_tf.tokenization import python_tokenizer

FLAGS = flags.FLAGS


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flags.DEFINE_string("input", None, "Text file, one paragraph per line.")
  flags.DEFINE_string("spm_model_file", None, "SentencePiece model.")
  flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt.")
  flags.DEFINE_integer("batch_size", 256, "Lines per in-graph call.")
  flags.DEFINE_integer("repeats", 3, "Timings per row; the best is shown.")


def _best_rate(fn, repeats):
  """(tokens/s, tokens) of the fastest of `repeats` runs of fn() → tokens."""
  best, tokens = None, 0
  for _ in range(repeats):
    start = time.perf_counter()
    tokens = fn()
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
  return tokens / best, tokens


def _graph_runner(tokenize, lines, batch_size):
  compiled = tf.function(tokenize,
                         input_signature=[tf.TensorSpec([None], tf.string)])
  batches = [tf.constant(lines[i:i + batch_size])
             for i in range(0, len(lines), batch_size)]
  compiled(batches[0])  # Trace once, outside the timing.

  def run():
    return sum(int(compiled(b).flat_values.shape[0]) for b in batches)

  return run


def sentencepiece_rows(lines, model_file, batch_size, repeats):
  raw = spm.SentencePieceProcessor(model_file=model_file)
  python = python_tokenizer.FullTokenizer(None, spm_model_file=model_file)
  graph = tokenization.make_graph_tokenizer(spm_model_file=model_file)
  return [
      ("sentencepiece library (raw, no preprocessing)", _best_rate(
          lambda: sum(len(ids) for ids in raw.encode(lines)), repeats)),
      ("albert_tf Python (preprocess + FullTokenizer)", _best_rate(
          lambda: sum(len(python.convert_tokens_to_ids(python.tokenize(
              python_tokenizer.preprocess_text(line, lower=True))))
                      for line in lines), repeats)),
      ("albert_tf in-graph", _best_rate(
          _graph_runner(graph.tokenize, lines, batch_size), repeats)),
  ]


def wordpiece_rows(lines, vocab_file, batch_size, repeats):
  python = python_tokenizer.FullTokenizer(vocab_file, do_lower_case=True)
  graph = tokenization.make_graph_tokenizer(vocab_file=vocab_file)
  bert = tf_text.BertTokenizer(vocab_file, lower_case=True,
                               token_out_type=tf.int32)
  return [
      ("albert_tf Python (Basic + WordPiece)", _best_rate(
          lambda: sum(len(python.convert_tokens_to_ids(python.tokenize(line)))
                      for line in lines), repeats)),
      ("albert_tf in-graph", _best_rate(
          _graph_runner(graph.tokenize, lines, batch_size), repeats)),
      ("tensorflow_text BertTokenizer (not exact)", _best_rate(
          _graph_runner(lambda t: bert.tokenize(t).merge_dims(-2, -1), lines,
                        batch_size), repeats)),
  ]


def format_rows(title, rows):
  out = [title]
  for name, (rate, tokens) in rows:
    out.append(f"  {name:48s}{rate:14,.0f} tokens/s  ({tokens:,} tokens)")
  return "\n".join(out)


def main(argv):
  del argv
  if not FLAGS.input:
    raise app.UsageError("--input is required")
  if not (FLAGS.spm_model_file or FLAGS.vocab_file):
    raise app.UsageError("pass --spm_model_file and/or --vocab_file")
  with open(FLAGS.input, encoding="utf-8") as f:
    lines = [line.rstrip("\n") for line in f if line.strip()]
  print(f"{len(lines):,} lines, {sum(map(len, lines)):,} characters from "
        f"{FLAGS.input}")
  if FLAGS.spm_model_file:
    print(format_rows("SentencePiece", sentencepiece_rows(
        lines, FLAGS.spm_model_file, FLAGS.batch_size, FLAGS.repeats)))
  if FLAGS.vocab_file:
    print(format_rows("WordPiece", wordpiece_rows(
        lines, FLAGS.vocab_file, FLAGS.batch_size, FLAGS.repeats)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
