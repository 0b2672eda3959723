"""create_pretraining_data as an Apache Beam pipeline (Dataflow, Flink, ...).

The pipeline writes the same files, byte for byte, as the local driver given
the same flags, seed and number of shards, whatever the runner and however
it splits the work. It does not re-implement instance creation: its
per-shard step calls generator.write_shard, as the local workers do, with
the same documents in the same order. What it distributes is the reading:

  1. every input file is read by one worker to count its documents (the
     same document splitting as the local driver: documents.iter_documents);
  2. prefix sums of the counts number every document across the corpus, in
     --input_file order, as the local driver numbers them;
  3. every input file is read again and each document is sent, with its
     number, to shard generator.shard_of_document(number, shards);
  4. per shard, the documents are put back in corpus order (a GroupByKey
     delivers them in any order) and written by generator.write_shard.

A shard's documents are held in one worker's memory at step 4 (their text,
about corpus size / shards); pick --output_shards so that fits. Reading is
parallel over input files, so a corpus in one huge file is read by one
worker: split it first.

Shards are written under temporary names and renamed when complete
(shard_files), so a retried or speculative attempt cannot leave a partial
shard; a rerun of a failed job skips the shards that exist (unless
--overwrite) and removes temporary files left by the failed one.

apache_beam is imported only when a pipeline is built, so albert_tf works
without the [beam] extra.
"""

import os
import re

import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.errors import InputFileError
from albert_tf.errors import MissingExtraError
from albert_tf.errors import UserError
from albert_tf.pretraining_data import documents
from albert_tf.pretraining_data import generator
from albert_tf.pretraining_data import shard_files

# The runners the documentation covers; Beam accepts others by name too.
RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner",
           "PortableRunner")
METRICS_NAMESPACE = "albert_tf.create_pretraining_data"
# Test hook: "SHARD:MARKER_PATH" makes the first attempt at writing shard
# SHARD fail after its first example (and create MARKER_PATH, so that the
# next attempt succeeds). Lets tests check what a failed worker leaves.
FAIL_ONCE_ENV = "ALBERT_TF_TEST_FAIL_SHARD_ONCE"


class BeamNotInstalledError(MissingExtraError):
  """--runner was given but apache_beam is not installed."""


class PipelineFailedError(UserError, RuntimeError):
  """The Beam job did not finish; complete shards are kept for a rerun."""


def import_beam():
  """apache_beam, or a UserError saying how to install it."""
  try:
    import apache_beam  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise BeamNotInstalledError(
        "--runner needs Apache Beam: pip install 'albert_tf[beam]'") from None
  return apache_beam


# -- the steps, run on the workers (module-level functions: Beam pickles
# them by reference, so workers import this module) -------------------------


def count_documents(item):
  """(file number, path) -> (file number, documents in the file)."""
  number, path = item
  return number, sum(1 for _ in documents.iter_documents([path]))


def first_document_numbers(counts):
  """[(file number, count)] -> {file number: number of its first document}.

  Numbering follows the --input_file order, as the local driver reads.
  """
  first, total = {}, 0
  for number, count in sorted(counts):
    first[number] = total
    total += count
  return first


def documents_by_shard(item, first_numbers, num_shards, pending):
  """(file number, path) -> (shard, (document number, lines)) per document
  of a shard still to be written."""
  number, path = item
  first = first_numbers[number]
  keep = lambda i: generator.shard_of_document(first + i, num_shards) in (
      pending)
  for i, lines in documents.iter_documents([path], keep=keep):
    yield (generator.shard_of_document(first + i, num_shards),
           (first + i, lines))


# Per worker process: loading the tokenizer (and jieba) once, not per shard.
_TOKENIZERS = {}


def _tokenizer(tokenizer_args):
  key = tuple(sorted(tokenizer_args.items()))
  if key not in _TOKENIZERS:
    _TOKENIZERS[key] = generator.LineTokenizer(**tokenizer_args)
  return _TOKENIZERS[key]


def _injected_failure(shard_index):
  """The FAIL_ONCE_ENV test hook's on_example callback, or None."""
  spec = os.environ.get(FAIL_ONCE_ENV)
  if not spec:
    return None
  shard, _, marker = spec.partition(":")
  if int(shard) != shard_index or tf.io.gfile.exists(marker):
    return None

  def fail(stats):
    with tf.io.gfile.GFile(marker, "w") as f:
      f.write("failed once\n")
    raise RuntimeError(f"failure injected by {FAIL_ONCE_ENV} into shard "
                       f"{shard_index} after {stats.instances} examples")
  return fail


def write_shard_step(item, output_file, num_shards, tokenizer_args, config):
  """(shard, [(document number, lines) or None]) -> (shard, stats dict).

  generator.write_shard with the shard's documents in corpus order: the
  same call, and so the same bytes, as the local driver's.
  """
  from apache_beam.metrics import Metrics  # pylint: disable=g-import-not-at-top
  shard_index, values = item
  docs = sorted((v for v in values if v is not None), key=lambda v: v[0])
  stats = generator.write_shard(
      output_file, shard_index, num_shards, (lines for _, lines in docs),
      _tokenizer(tokenizer_args), config,
      on_example=_injected_failure(shard_index))
  for name, value in stats.as_dict().items():
    Metrics.counter(METRICS_NAMESPACE, name).inc(value)
  Metrics.counter(METRICS_NAMESPACE, "shards").inc()
  return shard_index, stats.as_dict()


# -- the launcher ---------------------------------------------------------------


def pipeline_options(runner, pipeline_args, log=print):
  """PipelineOptions from the arguments albert_tf does not know.

  Arguments that no Beam options class knows are logged (portable runners
  pass them on to the job service, so they are not dropped here).
  """
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=g-import-not-at-top
  args = list(pipeline_args)
  positional = [a for a in args if not a.startswith("-")]
  if positional:
    raise FlagError(f"unexpected arguments {positional}: pipeline options "
                    "are written --name=value")
  options = PipelineOptions(args, runner=runner)
  known = set(options.get_all_options())
  unknown = sorted(set(options.get_all_options(retain_unknown_options=True))
                   - known)
  if unknown:
    log("warning: not Beam options known to this SDK, passed on as they are: "
        + ", ".join(f"--{name}" for name in unknown))
  all_options = options.get_all_options()
  if runner == "DataflowRunner" and not any(
      all_options.get(name) for name in (
          "setup_file", "requirements_file", "extra_packages",
          "sdk_container_image")):
    log("warning: Dataflow workers need albert_tf: pass --setup_file=PATH/"
        "setup.py (or --sdk_container_image with it installed)")
  return options


def _user_error_from(exception):
  """The albert_tf user error a worker raised, if it was one.

  In-process runners re-raise it as it is; others report it as text inside
  their own exception, where it is found by its class name (bad UTF-8 at
  file:line, an unreadable model, ...).
  """
  if isinstance(exception, UserError):
    return exception
  match = re.search(r"\.(?:InputError|InputFileError|TokenizerError|"
                    r"MissingExtraError|FlagError): ([^\n]+)",
                    str(exception))
  if match:
    message = re.sub(r"\s*\[while running .*$", "", match.group(1))
    return InputFileError(message.strip())
  return None


def run_pipeline(input_file, output_file, tokenizer_args, config,
                 output_shards=1, overwrite=False, runner="DirectRunner",
                 pipeline_args=(), log=print):
  """Writes the shards with Beam; returns {path: examples} written now.

  Same arguments and outputs as create_pretraining_data's local driver;
  `runner` and `pipeline_args` (["--project=...", ...]) go to Beam's
  PipelineOptions.
  """
  beam = import_beam()
  config.validate()
  if output_shards < 1:
    raise FlagError("--output_shards must be >= 1")
  files = documents.expand_input_files(input_file)
  generator.LineTokenizer(**tokenizer_args)  # Fail early on a bad vocab.
  try:
    options = pipeline_options(runner, pipeline_args, log=log)
  except (ValueError, SystemExit) as e:  # argparse exits on bad values.
    raise FlagError(f"bad Beam pipeline options {list(pipeline_args)}: "
                    f"{e}") from None
  try:
    pipeline = beam.Pipeline(options=options)
  except ValueError as e:  # An unknown runner name.
    raise FlagError(f"--runner={runner}: {e}") from None
  shard_files.make_output_directory(output_file)
  paths = shard_files.shard_paths(output_file, output_shards)
  # Temporary files of a failed earlier run go; complete shards stay.
  shard_files.remove_all_partial_files(output_file, paths)
  complete = set(shard_files.existing_shards(output_file, paths))
  pending = sorted(i for i, path in enumerate(paths)
                   if overwrite or path not in complete)
  for path in sorted(complete):
    if not overwrite:
      log(f"skipping complete shard {path}")
  if not pending:
    shard_files.finalize_stats(output_file, paths)
    return {}
  log(f"{len(files)} input files, {len(pending)} shards to write with "
      f"{runner}")
  pending_set = frozenset(pending)
  with_numbers = (
      pipeline
      | "InputFiles" >> beam.Create(list(enumerate(files)))
      # One file per bundle, so that files are read in parallel.
      | "SpreadFiles" >> beam.Reshuffle())
  first_numbers = (
      with_numbers
      | "CountDocuments" >> beam.Map(count_documents)
      | "AllCounts" >> beam.combiners.ToList()
      | "NumberDocuments" >> beam.Map(first_document_numbers))
  shard_docs = with_numbers | "DocumentsToShards" >> beam.FlatMap(
      documents_by_shard, beam.pvalue.AsSingleton(first_numbers),
      output_shards, pending_set)
  # Every pending shard gets a group, even one no document goes to (more
  # shards than documents): the local driver writes it, empty.
  every_shard = pipeline | "PendingShards" >> beam.Create(
      [(i, None) for i in pending])
  _ = ((shard_docs, every_shard)
       | "Flatten" >> beam.Flatten()
       | "GroupByShard" >> beam.GroupByKey()
       | "WriteShards" >> beam.Map(write_shard_step, output_file,
                                   output_shards, dict(tokenizer_args),
                                   config))
  try:
    result = pipeline.run()
    state = result.wait_until_finish()
  except Exception as e:  # pylint: disable=broad-except
    user_error = _user_error_from(e)
    if user_error is e:
      raise
    if user_error is not None:
      raise user_error from None
    raise PipelineFailedError(
        f"the Beam job failed ({str(e).strip().splitlines()[-1][:500]}); "
        "complete shards are kept: rerun the same command to write the "
        "others") from e
  finally:
    shard_files.remove_all_partial_files(output_file, paths)
  if str(state).split(".")[-1] != "DONE":
    raise PipelineFailedError(
        f"the Beam job ended in state {state}; complete shards are kept: "
        "rerun the same command to write the others")
  counters = metric_counters(result)
  if counters:
    log("Beam counters: " + ", ".join(f"{name} {value:,}" for name, value
                                      in sorted(counters.items())))
  report = shard_files.finalize_stats(output_file, paths)
  log(f"statistics in {shard_files.stats_path(output_file)}: " +
      ", ".join(f"{k} {v:,}" for k, v in report["totals"].items()))
  written = {}
  for i in pending:
    entry = report["shards"].get(shard_files.shard_name(paths[i]))
    if entry is not None:
      written[paths[i]] = entry["instances"]
  return written


def metric_counters(result):
  """{counter: value} of this pipeline's Beam counters (committed values
  where the runner has them: retried work is not counted twice)."""
  from apache_beam.metrics.metric import MetricsFilter  # pylint: disable=g-import-not-at-top
  try:
    query = result.metrics().query(
        MetricsFilter().with_namespace(METRICS_NAMESPACE))
  except (NotImplementedError, AttributeError):
    return {}
  counters = {}
  for counter in query["counters"]:
    value = counter.committed
    if value is None:
      value = counter.attempted
    name = counter.key.metric.name
    counters[name] = counters.get(name, 0) + (value or 0)
  return counters
