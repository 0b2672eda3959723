r"""Instances/s of create_pretraining_data: local workers vs Beam DirectRunner.

  python -m benchmarks.beam_data_benchmark \
      --input_file=testdata/tokenization/stdlib_docs.txt \
      --spm_model_file=testdata/tokenization/tiny-clean.model \
      --dupe_factor=40 --workers=2

Writes the same shards (--output_shards) with the local driver
(--num_workers=W) and with the Beam pipeline on the DirectRunner in
multi-process mode (--direct_num_workers=W), each into a temporary
directory, and checks that the two outputs are byte-identical. Times are
wall clock, start-up (worker processes importing TensorFlow) included.
"""

import hashlib
import os
import tempfile
import time

from absl import app
from absl import flags

from albert_tf import create_pretraining_data as cpd
from albert_tf.pretraining_data import beam_pipeline
from albert_tf.pretraining_data.generator import GenerationConfig

FLAGS = flags.FLAGS


def define_flags():
  """Defines this tool's flags (only when it runs as a program)."""
  flags.DEFINE_string("input_file", None, "Corpus: comma-separated globs.")
  flags.DEFINE_string("spm_model_file", None, "SentencePiece model.")
  flags.DEFINE_string("vocab_file", None, "Or a WordPiece vocab.txt.")
  flags.DEFINE_integer("dupe_factor", 40, "As in create_pretraining_data.")
  flags.DEFINE_integer("max_seq_length", 128, "Sequence length.")
  flags.DEFINE_integer("output_shards", 4, "Shards written by both drivers.")
  flags.DEFINE_integer("workers", 2, "Local --num_workers and Beam's "
                       "--direct_num_workers.")


def _digest(directory):
  digest = hashlib.sha256()
  for name in sorted(os.listdir(directory)):
    digest.update(name.encode())
    with open(os.path.join(directory, name), "rb") as f:
      digest.update(f.read())
  return digest.hexdigest()


def time_driver(driver, input_file, tokenizer_args, config, output_shards,
                workers):
  """(seconds, instances, digest of all output files) for one driver."""
  with tempfile.TemporaryDirectory() as tmp:
    output = os.path.join(tmp, "train.tfrecord")
    start = time.perf_counter()
    if driver == "local":
      written = cpd.create_pretraining_data(
          input_file, output, tokenizer_args, config,
          output_shards=output_shards, num_workers=workers,
          log=lambda *_: None)
    else:
      written = beam_pipeline.run_pipeline(
          input_file, output, tokenizer_args, config,
          output_shards=output_shards, runner="DirectRunner",
          pipeline_args=[f"--direct_num_workers={workers}",
                         "--direct_running_mode=multi_processing"],
          log=lambda *_: None)
    elapsed = time.perf_counter() - start
    return elapsed, sum(written.values()), _digest(tmp)


def main(argv):
  del argv
  if not FLAGS.input_file:
    raise app.UsageError("--input_file is required")
  tokenizer_args = dict(vocab_file=FLAGS.vocab_file,
                        spm_model_file=FLAGS.spm_model_file)
  config = GenerationConfig(max_seq_length=FLAGS.max_seq_length,
                            dupe_factor=FLAGS.dupe_factor)
  print(f"{FLAGS.input_file}: dupe_factor {FLAGS.dupe_factor}, "
        f"max_seq_length {FLAGS.max_seq_length}, {FLAGS.output_shards} "
        f"shards, {FLAGS.workers} workers, {os.cpu_count()} CPUs")
  digests = set()
  for driver, label in (("local", f"local --num_workers={FLAGS.workers}"),
                        ("beam", "Beam DirectRunner multi_processing, "
                                 f"--direct_num_workers={FLAGS.workers}")):
    seconds, count, digest = time_driver(
        driver, FLAGS.input_file, tokenizer_args, config,
        FLAGS.output_shards, FLAGS.workers)
    digests.add(digest)
    print(f"  {label}: {count / seconds:8,.0f} instances/s "
          f"({count:,} instances in {seconds:.1f} s)")
  print("  outputs byte-identical: "
        f"{'yes' if len(digests) == 1 else 'NO'}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
