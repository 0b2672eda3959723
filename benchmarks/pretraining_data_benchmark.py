r"""Instances/s of create_pretraining_data: worker counts and drivers.

  python -m benchmarks.pretraining_data_benchmark \
      --input_file=testdata/tokenization/stdlib_docs.txt \
      --spm_model_file=testdata/tokenization/tiny-clean.model \
      --dupe_factor=40 --drivers=local:1,local:2,beam:2

Each `driver:workers` entry writes the same shards (--output_shards) into
a temporary directory: `local:W` is the command's own driver with
--num_workers=W, `beam:W` the Beam pipeline on the DirectRunner in
multi-process mode with --direct_num_workers=W (needs the `beam` extra).
The runs do identical work, and their outputs are checked to be
byte-identical. Times are wall clock, start-up (worker processes importing
TensorFlow) included.
"""

import hashlib
import os
import tempfile
import time

from absl import app
from absl import flags

from albert_tf.pretraining_data import data_generation_job as cpd
from albert_tf.pretraining_data.generator import GenerationConfig

FLAGS = flags.FLAGS
DRIVERS = ("local", "beam")


def define_flags():
  """Defines this tool's flags (only when it runs as a program)."""
  flags.DEFINE_string("input_file", None, "Corpus: comma-separated globs.")
  flags.DEFINE_string("spm_model_file", None, "SentencePiece model.")
  flags.DEFINE_string("vocab_file", None, "Or a WordPiece vocab.txt.")
  flags.DEFINE_integer("dupe_factor", 5, "As in create_pretraining_data.")
  flags.DEFINE_integer("max_seq_length", 128, "Sequence length.")
  flags.DEFINE_integer("output_shards", 4, "Shards written in every run.")
  flags.DEFINE_list("drivers", ["local:1", "local:2"],
                    "driver:workers entries to compare; driver is local "
                    "(--num_workers) or beam (DirectRunner "
                    "--direct_num_workers).")


def parse_driver(entry):
  """'local:2' → ('local', 2); a bad entry is an app.UsageError."""
  driver, _, workers = entry.partition(":")
  if driver not in DRIVERS or not workers.isdigit() or int(workers) < 1:
    raise app.UsageError(f"--drivers entry {entry!r}: expected "
                         "local:W or beam:W with W >= 1")
  return driver, int(workers)


def time_run(input_file, tokenizer_args, config, output_shards, num_workers,
             driver="local"):
  """(instances/s, instances, digest of all output bytes) for one setting."""
  with tempfile.TemporaryDirectory() as tmp:
    output = os.path.join(tmp, "data")
    start = time.perf_counter()
    if driver == "local":
      written = cpd.create_pretraining_data(
          input_file, output, tokenizer_args, config,
          output_shards=output_shards, num_workers=num_workers,
          log=lambda *_: None)
    else:
      from albert_tf.pretraining_data import beam_pipeline  # pylint: disable=g-import-not-at-top
      written = beam_pipeline.run_pipeline(
          input_file, output, tokenizer_args, config,
          output_shards=output_shards, runner="DirectRunner",
          pipeline_args=[f"--direct_num_workers={num_workers}",
                         "--direct_running_mode=multi_processing"],
          log=lambda *_: None)
    elapsed = time.perf_counter() - start
    digest = hashlib.sha256()
    for path in sorted(written):
      with open(path, "rb") as f:
        digest.update(f.read())
  count = sum(written.values())
  return count / elapsed, count, digest.hexdigest()


def main(argv):
  del argv
  if not FLAGS.input_file:
    raise app.UsageError("--input_file is required")
  runs = [parse_driver(entry) for entry in FLAGS.drivers]
  tokenizer_args = dict(vocab_file=FLAGS.vocab_file,
                        spm_model_file=FLAGS.spm_model_file)
  config = GenerationConfig(max_seq_length=FLAGS.max_seq_length,
                            dupe_factor=FLAGS.dupe_factor)
  print(f"{FLAGS.input_file}: dupe_factor {FLAGS.dupe_factor}, "
        f"max_seq_length {FLAGS.max_seq_length}, {FLAGS.output_shards} "
        f"shards, {os.cpu_count()} CPUs")
  baseline, digests = None, set()
  for driver, workers in runs:
    rate, count, digest = time_run(FLAGS.input_file, tokenizer_args, config,
                                   FLAGS.output_shards, workers, driver)
    baseline = baseline or rate
    digests.add(digest)
    print(f"  {driver}:{workers}: {rate:8,.0f} instances/s "
          f"({count:,} instances, {rate / baseline:.2f}x)")
  print("  outputs byte-identical across settings: "
        f"{'yes' if len(digests) == 1 else 'NO'}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
