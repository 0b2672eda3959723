r"""Creates ALBERT pretraining TFRecords from text, at corpus scale.

  python -m albert_tf.create_pretraining_data --input_file='corpus/*.txt' \
      --output_file=data/train.tfrecord --spm_model_file=30k-clean.model \
      --output_shards=64 --num_workers=8

Input: UTF-8 text, one sentence per line, blank lines between documents
(a file's end also ends a document). Output: TFRecords with exactly the
original features (input_ids, input_mask, segment_ids, token_boundary,
masked_lm_positions, masked_lm_ids, masked_lm_weights, next_sentence_labels),
readable by the original run_pretraining and by ours.

Same algorithm and flag defaults as the original, with these differences:
documents are streamed (memory stays bounded: one document, a pool of
--document_pool_size documents for "random document" segments, and
--shuffle_buffer_size serialized examples per worker); output is sharded
(document i goes to shard i mod --output_shards) and shards are written by
--num_workers processes; every random choice is seeded per shard, so the
same --random_seed gives byte-identical files whatever --num_workers is.
Each shard is written under a temporary name and renamed when complete; a
rerun skips shards that already exist (pass --overwrite to redo them).
OUTPUT_FILE.stats.json sums what was made (documents, instances, masked
tokens, skipped lines), per shard and in total.

Beyond one machine: --runner=DataflowRunner (or FlinkRunner, SparkRunner,
PortableRunner, DirectRunner) runs the same generation as an Apache Beam
pipeline (pip install 'albert_tf[beam]') and writes the same files, byte
for byte; flags this tool does not define are Beam pipeline options:

  python -m albert_tf.create_pretraining_data \
      --input_file='gs://bucket/corpus/*.txt' \
      --output_file=gs://bucket/data/train.tfrecord --output_shards=1024 \
      --spm_model_file=gs://bucket/30k-clean.model --runner=DataflowRunner \
      --project=my-project --region=us-central1 \
      --temp_location=gs://bucket/tmp --setup_file=./setup.py

See docs/pretraining_data.md.
"""

import multiprocessing
import multiprocessing.pool
import os
import sys
import time

from absl import app
from absl import flags

from albert_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags():
  """Defines the original's flags (same names and defaults) and ours."""
  flags.DEFINE_string("input_file", None,
                      "Input text files: comma-separated globs.")
  flags.DEFINE_string("output_file", None,
                      "Output TFRecord (or shard prefix with "
                      "--output_shards > 1).")
  flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt.")
  flags.DEFINE_string("spm_model_file", None, "SentencePiece model.")
  flags.DEFINE_bool("do_lower_case", True, "Lowercase the input text.")
  flags.DEFINE_bool("do_whole_word_mask", True, "Mask whole words.")
  flags.DEFINE_bool("do_permutation", False,
                    "The original's unused permutation mode (unsupported).")
  flags.DEFINE_bool("favor_shorter_ngram", True,
                    "n-gram length n drawn with p ∝ 1/n (else reversed).")
  flags.DEFINE_bool("random_next_sentence", False,
                    "Classic NSP instead of sentence-order prediction.")
  flags.DEFINE_integer("max_seq_length", 512, "Maximum sequence length.")
  flags.DEFINE_integer("ngram", 3, "Maximum n-gram length to mask.")
  flags.DEFINE_integer("max_predictions_per_seq", 20,
                       "Maximum masked positions per sequence.")
  flags.DEFINE_integer("random_seed", 12345, "Seed of all random choices.")
  flags.DEFINE_integer("dupe_factor", 40,
                       "Times each document is used, masked differently.")
  flags.DEFINE_float("masked_lm_prob", 0.15, "Masked LM probability.")
  flags.DEFINE_float("short_seq_prob", 0.1,
                     "Probability of a shorter-than-maximum sequence.")
  flags.DEFINE_bool("zh_whole_word_mask", False,
                    "Chinese whole-word masking: segment words with jieba "
                    "(pip install 'albert_tf[zh]'); WordPiece vocabs only.")
  flags.DEFINE_integer("output_shards", 1, "Number of output files.")
  flags.DEFINE_integer("num_workers", 1, "Processes writing shards.")
  flags.DEFINE_integer("document_pool_size", 1000,
                       "Documents kept per shard for random segments.")
  flags.DEFINE_integer("shuffle_buffer_size", 10000,
                       "Examples shuffled per shard before writing.")
  flags.DEFINE_bool("overwrite", False, "Regenerate shards that exist.")
  flags.DEFINE_string(
      "runner", None,
      "Run as an Apache Beam pipeline on this runner (DirectRunner, "
      "DataflowRunner, FlinkRunner, SparkRunner, PortableRunner; pip install "
      "'albert_tf[beam]'); flags not defined here (--project, --region, "
      "--temp_location, --direct_num_workers, ...) go to Beam. Same output "
      "files as without it.")


# Shared progress counters, set in each worker by _init_worker.
_COUNTERS = {}


def _init_worker(counters):
  _COUNTERS.update(counters)


def _count(name, amount):
  counter = _COUNTERS.get(name)
  if counter is not None:
    with counter.get_lock():
      counter.value += amount


def run_shard(task):
  """Generates and writes one shard; returns (path, stats as a dict)."""
  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data import generator
  from albert_tf.pretraining_data import shard_files
  (files, shard_index, num_shards, output_file, tokenizer_args, config) = task
  tokenizer = generator.LineTokenizer(**tokenizer_args)
  last = [0, 0]

  def on_example(stats):
    _count("documents", stats.documents - last[0])
    _count("instances", stats.instances - last[1])
    last[:] = [stats.documents, stats.instances]

  stats = generator.write_shard(
      output_file, shard_index, num_shards,
      generator.shard_documents(files, shard_index, num_shards,
                                on_bytes=lambda n: _count("bytes", n)),
      tokenizer, config, on_example=on_example)
  _count("shards", 1)
  path = shard_files.shard_paths(output_file, num_shards)[shard_index]
  return path, stats.as_dict()


def _progress_line(counters, started, total_bytes, num_shards):
  elapsed = max(time.time() - started, 1e-6)
  read = counters["bytes"].value
  fraction = min(read / total_bytes, 1.0) if total_bytes else 1.0
  eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
  return (f"shards {counters['shards'].value}/{num_shards}  "
          f"documents {counters['documents'].value:,} "
          f"({counters['documents'].value / elapsed:,.0f}/s)  "
          f"instances {counters['instances'].value:,} "
          f"({counters['instances'].value / elapsed:,.0f}/s)  "
          f"{100 * fraction:.1f}%  ETA {eta:,.0f}s")


def create_pretraining_data(input_file, output_file, tokenizer_args, config,
                            output_shards=1, num_workers=1, overwrite=False,
                            log=print, progress_seconds=10.0):
  """Writes the shards; returns {path: examples} for the shards written."""
  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data import documents
  from albert_tf.pretraining_data import generator
  from albert_tf.pretraining_data import shard_files
  config.validate()
  if output_shards < 1 or num_workers < 1:
    raise ValueError("--output_shards and --num_workers must be >= 1")
  files = documents.expand_input_files(input_file)
  generator.LineTokenizer(**tokenizer_args)  # Fail early on a bad vocab.
  out_dir = os.path.dirname(os.path.abspath(output_file))
  os.makedirs(out_dir, exist_ok=True)
  paths = shard_files.shard_paths(output_file, output_shards)
  # From an interrupted earlier run.
  shard_files.remove_all_partial_files(output_file, paths)
  complete = set(shard_files.existing_shards(output_file, paths))
  tasks = []
  for index, path in enumerate(paths):
    if path in complete and not overwrite:
      log(f"skipping complete shard {path}")
      continue
    tasks.append((files, index, output_shards, output_file, tokenizer_args,
                  config))
  if not tasks:
    shard_files.finalize_stats(output_file, paths)
    return {}
  total = documents.total_bytes(files) * len(tasks)
  log(f"{len(files)} input files, {len(tasks)} shards to write with "
      f"{min(num_workers, len(tasks))} workers")
  # Spawned workers: forking a process that has loaded TensorFlow is unsafe.
  context = multiprocessing.get_context("spawn")
  counters = {name: context.Value("q", 0)
              for name in ("bytes", "documents", "instances", "shards")}
  started = time.time()
  written = {}
  workers = min(num_workers, len(tasks))
  if workers == 1:
    # In this process, on a thread, so that progress is reported meanwhile.
    pool = multiprocessing.pool.ThreadPool(1, initializer=_init_worker,
                                           initargs=(counters,))
  else:
    pool = context.Pool(workers, initializer=_init_worker,
                        initargs=(counters,))
  try:
    with pool:
      pending = [pool.apply_async(run_shard, (task,)) for task in tasks]
      while pending:
        time.sleep(0.2)
        still = []
        for result in pending:
          if result.ready():
            path, stats = result.get()  # Re-raises a worker's error.
            written[path] = stats["instances"]
          else:
            still.append(result)
        pending = still
        if pending and time.time() - started > progress_seconds:
          log(_progress_line(counters, started, total, len(tasks)))
          progress_seconds += 10.0
  finally:
    _COUNTERS.clear()
    # Workers killed on an error leave half-written temporary files.
    shard_files.remove_all_partial_files(output_file, paths)
  log(_progress_line(counters, started, total, len(tasks)))
  report = shard_files.finalize_stats(output_file, paths)
  log(f"statistics in {shard_files.stats_path(output_file)}: " +
      ", ".join(f"{k} {v:,}" for k, v in report["totals"].items()))
  return written


def parse_flags(argv):
  """Parses our flags; returns [program] + the ones left for Beam."""
  return FLAGS(argv, known_only=True)


def main(argv):
  pipeline_args = argv[1:]
  if pipeline_args and not FLAGS.runner:
    print(f"error: unknown flags {' '.join(pipeline_args)} (Beam pipeline "
          "options need --runner)", file=sys.stderr)
    return 1
  # pylint: disable=g-import-not-at-top
  from albert_tf.tokenization import python_tokenizer
  from albert_tf.pretraining_data import documents
  from albert_tf.pretraining_data.generator import GenerationConfig
  from albert_tf.pretraining_data.masking import MaskingConfig
  for name in ("input_file", "output_file"):
    if not FLAGS[name].value:
      raise app.UsageError(f"--{name} is required")
  if bool(FLAGS.vocab_file) == bool(FLAGS.spm_model_file) and not (
      FLAGS.vocab_file):
    raise app.UsageError("pass --spm_model_file or --vocab_file")
  if FLAGS.do_permutation:
    raise app.UsageError("--do_permutation is not supported")
  config = GenerationConfig(
      max_seq_length=FLAGS.max_seq_length, dupe_factor=FLAGS.dupe_factor,
      short_seq_prob=FLAGS.short_seq_prob,
      random_next_sentence=FLAGS.random_next_sentence,
      random_seed=FLAGS.random_seed,
      masking=MaskingConfig(
          masked_lm_prob=FLAGS.masked_lm_prob,
          max_predictions_per_seq=FLAGS.max_predictions_per_seq,
          ngram=FLAGS.ngram, do_whole_word_mask=FLAGS.do_whole_word_mask,
          favor_shorter_ngram=FLAGS.favor_shorter_ngram),
      document_pool_size=FLAGS.document_pool_size,
      shuffle_buffer_size=FLAGS.shuffle_buffer_size)
  tokenizer_args = dict(vocab_file=FLAGS.vocab_file,
                        spm_model_file=FLAGS.spm_model_file,
                        do_lower_case=FLAGS.do_lower_case,
                        zh_whole_word_mask=FLAGS.zh_whole_word_mask)
  try:
    if FLAGS.runner:
      from albert_tf.pretraining_data import beam_pipeline
      written = beam_pipeline.run_pipeline(
          FLAGS.input_file, FLAGS.output_file, tokenizer_args, config,
          output_shards=FLAGS.output_shards, overwrite=FLAGS.overwrite,
          runner=FLAGS.runner, pipeline_args=pipeline_args)
    else:
      written = create_pretraining_data(
          FLAGS.input_file, FLAGS.output_file, tokenizer_args, config,
          output_shards=FLAGS.output_shards, num_workers=FLAGS.num_workers,
          overwrite=FLAGS.overwrite)
  except (UserError, documents.InputError, python_tokenizer.TokenizerError,
          ValueError, ImportError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  total = sum(written.values())
  print(f"wrote {total:,} examples to {len(written)} shard(s): "
        + ", ".join(sorted(written)))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
