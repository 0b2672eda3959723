r"""Latency and throughput of the TF Serving export next to the Keras model.

  python -m benchmarks.serving_benchmark --preset=albert_base_v2 \
      --spm_model_file=30k-clean.model [--checkpoint=...] --seq_length=128

Exports the encoder with tfhub_export.serving_export (outputs pooled_output
and sequence_output), loads that SavedModel in this process and times, on
the same sentence pairs and in alternating rounds:

  serving SavedModel, serving_default   raw strings in (tokenization and
                                        packing inside the graph)
  serving SavedModel, serve_token_ids   packed ids in
  Keras AlbertEncoder (tf.function)     packed ids in, in-process
  Keras + Python tokenizer              raw strings in: albert_tf.tokenization.python_tokenizer
                                        and packing in Python, then Keras

Batch 1 gives latency (median ms per request), batch 32 throughput (median
examples/s). Weights are random unless --checkpoint is given (speed does not
depend on them).
"""

import os
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras

from albert_tf import presets
from albert_tf.tokenization import python_tokenizer
from albert_tf.checkpoints import load_checkpoint
from albert_tf.modeling.albert_encoder import AlbertEncoder
from tfhub_export import serving_export

FLAGS = flags.FLAGS
SERVING_DEFAULT = "serving SavedModel, serving_default (raw text)"
SERVING_IDS = "serving SavedModel, serve_token_ids"
KERAS = "Keras AlbertEncoder (tf.function, ids)"
KERAS_TEXT = "Keras + Python tokenizer (raw text)"
VARIANTS = (SERVING_DEFAULT, SERVING_IDS, KERAS, KERAS_TEXT)
_WORDS = ("the function returns a new list of items from the given sequence "
          "if no value is passed it raises an error and the default is used "
          "for every call this module provides classes to read and write "
          "files in 1,024 byte blocks with optional compression").split()


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flags.DEFINE_string("preset", None,
                      "A named config (default albert_base_v2).")
  flags.DEFINE_string("albert_config_file", None, "Or an albert_config.json.")
  flags.DEFINE_string("checkpoint", None,
                      "Optional weights (speed does not depend on them).")
  flags.DEFINE_string("spm_model_file", None, "SentencePiece model.")
  flags.DEFINE_string("vocab_file", None, "Or a WordPiece vocab.txt.")
  flags.DEFINE_integer("seq_length", 128, "Tokens per example.")
  flags.DEFINE_list("batch_sizes", ["1", "32"],
                    "Batch sizes: 1 reports latency, larger throughput.")
  flags.DEFINE_integer("rounds", 3, "Timed rounds per variant.")
  flags.DEFINE_integer("steps", 5, "Calls per timed round (batch > 1: 2).")


def sentence_pairs(count, words_per_segment, seed=0):
  """Deterministic English-like sentence pairs."""
  rng = np.random.RandomState(seed)
  pairs = []
  for _ in range(count):
    a, b = (" ".join(rng.choice(_WORDS, words_per_segment)) + "."
            for _ in range(2))
    pairs.append((a.capitalize(), b.capitalize()))
  return pairs


def python_packer(tokenizer, seq_length):
  """The original classifier packing of (a, b) pairs with FullTokenizer."""
  vocab = tokenizer.vocab
  cls, sep = vocab["[CLS]"], vocab["[SEP]"]
  pad = vocab.get("<pad>", vocab.get("[PAD]", 0))

  def ids_of(text):
    if tokenizer.sp_model is not None:
      text = python_tokenizer.preprocess_text(text, lower=tokenizer.do_lower_case)
    return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))

  def pack(pairs):
    rows = {"input_word_ids": [], "input_mask": [], "input_type_ids": []}
    for text_a, text_b in pairs:
      a, b = ids_of(text_a), ids_of(text_b)
      while len(a) + len(b) > seq_length - 3:
        (a if len(a) > len(b) else b).pop()
      ids = [cls] + a + [sep] + b + [sep]
      padding = seq_length - len(ids)
      rows["input_word_ids"].append(ids + [pad] * padding)
      rows["input_mask"].append([1] * len(ids) + [0] * padding)
      rows["input_type_ids"].append([0] * (len(a) + 2) +
                                    [1] * (len(b) + 1) + [0] * padding)
    return {k: tf.constant(v, tf.int32) for k, v in rows.items()}

  return pack


def build_variants(encoder, export_dir, tokenizer_kwargs, seq_length):
  """{variant: fn(pairs) → outputs} plus the python packer."""
  version_dir = serving_export.export_serving_model(
      encoder, export_dir, seq_length=seq_length,
      output_names=["pooled_output", "sequence_output"], **tokenizer_kwargs)
  serving = tf.saved_model.load(version_dir)
  by_text = serving.signatures["serving_default"]
  by_ids = serving.signatures["serve_token_ids"]
  keras_fn = tf.function(lambda x: encoder(x, training=False))
  tokenizer = python_tokenizer.FullTokenizer(
      tokenizer_kwargs.get("vocab_file"),
      do_lower_case=tokenizer_kwargs.get("do_lower_case", True),
      spm_model_file=tokenizer_kwargs.get("spm_model_file"))
  pack = python_packer(tokenizer, seq_length)

  def strings(pairs):
    return (tf.constant([a for a, _ in pairs]),
            tf.constant([b for _, b in pairs]))

  return {
      SERVING_DEFAULT: (strings, lambda s: by_text(text_a=s[0], text_b=s[1])),
      SERVING_IDS: (pack, lambda ids: by_ids(**ids)),
      KERAS: (pack, keras_fn),
      KERAS_TEXT: (lambda pairs: pairs, lambda pairs: keras_fn(pack(pairs))),
  }


def seconds_per_call(fn, request, steps):
  """Seconds per call of `fn(request)`, blocking on each result's
  pooled_output (a TF tensor, numpy array or CPU torch tensor)."""
  start = time.perf_counter()
  for _ in range(steps):
    outputs = fn(request)
    np.asarray(outputs["pooled_output"])
  return (time.perf_counter() - start) / steps


def run(encoder, tokenizer_kwargs, seq_length=128, batch_sizes=(1, 32),
        rounds=3, steps=5, export_dir=None):
  """Returns {(variant, batch_size): seconds per call (median round)}."""
  with tempfile.TemporaryDirectory() as tmp:
    variants = build_variants(encoder, export_dir or os.path.join(tmp, "m"),
                              tokenizer_kwargs, seq_length)
    # Long enough that every pair is truncated to seq_length.
    pairs = sentence_pairs(max(batch_sizes), words_per_segment=seq_length)
    results = {}
    for batch_size in batch_sizes:
      batch = pairs[:batch_size]
      requests = {v: prepare(batch) for v, (prepare, _) in variants.items()}
      calls = steps if batch_size == 1 else max(1, min(steps, 2))
      for variant, (_, fn) in variants.items():
        fn(requests[variant])  # Warm-up: tracing, caches.
      times = {v: [] for v in variants}
      for _ in range(rounds):  # Alternating, so noise hits all alike.
        for variant, (_, fn) in variants.items():
          if variant == KERAS_TEXT:
            # Python tokenization is part of this variant's request.
            times[variant].append(seconds_per_call(fn, batch, calls))
          else:
            times[variant].append(
                seconds_per_call(fn, requests[variant], calls))
      for variant, values in times.items():
        results[(variant, batch_size)] = statistics.median(values)
  return results


def format_results(results, title):
  lines = [title, "",
           "| | batch | latency (ms) | examples/s |", "|---|---|---|---|"]
  for (variant, batch_size), seconds in results.items():
    lines.append(f"| {variant} | {batch_size} | {seconds * 1000:.1f} | "
                 f"{batch_size / seconds:.1f} |")
  return "\n".join(lines)


def main(argv):
  del argv
  if bool(FLAGS.spm_model_file) == bool(FLAGS.vocab_file):
    print("error: pass one of --spm_model_file and --vocab_file",
          file=sys.stderr)
    return 1
  preset = FLAGS.preset
  if not preset and not FLAGS.albert_config_file:
    preset = "albert_base_v2"
  config = presets.load_config(FLAGS.albert_config_file, preset)
  tf_keras.utils.set_random_seed(0)
  encoder = AlbertEncoder(config)
  if FLAGS.checkpoint:
    load_checkpoint(encoder, FLAGS.checkpoint)
  tokenizer_kwargs = {"spm_model_file": FLAGS.spm_model_file,
                      "vocab_file": FLAGS.vocab_file}
  batch_sizes = [int(b) for b in FLAGS.batch_sizes]
  results = run(encoder, tokenizer_kwargs, FLAGS.seq_length, batch_sizes,
                FLAGS.rounds, FLAGS.steps)
  title = (f"{preset or FLAGS.albert_config_file}, seq {FLAGS.seq_length}, "
           f"{FLAGS.rounds} rounds, {len(os.sched_getaffinity(0))} CPU "
           f"cores, GPUs: {len(tf.config.list_physical_devices('GPU'))}")
  print(format_results(results, title))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
