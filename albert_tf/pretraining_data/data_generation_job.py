"""create_pretraining_data's job: corpus -> sharded pretraining TFRecords.

  data_generation_job.run(data_generation_settings.defaults(
      input_file="corpus/*.txt", output_file="data/train.tfrecord",
      spm_model_file="30k-clean.model"))

run() checks the settings, takes the output's lock and manifest, then
writes the shards with the local driver (create_pretraining_data(): worker
processes, a progress line) or, with settings.runner, the Beam pipeline
(beam_pipeline.py); albert_tf/create_pretraining_data.py is its command
line and documents the outputs.
"""

import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.pool
import os
import time

from albert_tf.errors import FlagError
from albert_tf.errors import InputFileError
from albert_tf.errors import OutputLocationError
from albert_tf.files import disk_full
from albert_tf.files import locations
from albert_tf.files import output_lock
from albert_tf.files import run_manifest
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.training.progress import format_duration


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

  path = shard_files.shard_paths(output_file, num_shards)[shard_index]
  # A full disk names the shard, not its temporary (which is removed).
  with disk_full.reported_as(path):
    stats = generator.write_shard(
        output_file, shard_index, num_shards,
        generator.shard_documents(files, shard_index, num_shards,
                                  on_bytes=lambda n: _count("bytes", n)),
        tokenizer, config, on_example=on_example)
  _count("shards", 1)
  return path, stats.as_dict()


def _progress_line(counters, started, total_bytes, num_shards):
  elapsed = max(time.time() - started, 1e-6)
  read = counters["bytes"].value
  fraction = min(read / total_bytes, 1.0) if total_bytes else 1.0
  # Nothing read yet (the first line of a slow start): no speed to go by.
  eta = (format_duration(elapsed * (1 - fraction) / fraction)
         if fraction > 0 else "unknown")
  return (f"shards {counters['shards'].value}/{num_shards}  "
          f"documents {counters['documents'].value:,} "
          f"({counters['documents'].value / elapsed:,.0f}/s)  "
          f"instances {counters['instances'].value:,} "
          f"({counters['instances'].value / elapsed:,.0f}/s)  "
          f"{100 * fraction:.1f}%  ETA {eta}")


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
    raise FlagError("--output_shards and --num_workers must be >= 1")
  files = documents.expand_input_files(input_file)
  generator.LineTokenizer(**tokenizer_args)  # Fail early on a bad vocab.
  shard_files.make_output_directory(output_file)
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


def _file_sha256(path):
  """The content hash of a (local or gs://) file: the vocabulary's identity,
  whatever its name or location."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


# Flags that change the bytes of the records (or which shard a document goes
# to). --num_workers, --runner and --overwrite do not.
_SHAPING_FLAGS = (
    "do_lower_case", "do_whole_word_mask", "favor_shorter_ngram",
    "random_next_sentence", "max_seq_length", "ngram",
    "max_predictions_per_seq", "random_seed", "dupe_factor", "masked_lm_prob",
    "short_seq_prob", "zh_whole_word_mask", "output_shards",
    "document_pool_size", "shuffle_buffer_size")


# The corpus in the manifest: its files' sizes (the key older versions
# wrote, kept so that their outputs can still be completed) and their
# fingerprints (files/file_fingerprint.py).
CORPUS_SIZES_KEY = "input_file (files and sizes)"
CORPUS_FINGERPRINTS_KEY = "input_file (modification times, sampled sha256)"


def _corpus_fingerprints(files):
  """{absolute path: fingerprint} of the input files."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from albert_tf.files import file_fingerprint
  prints = {}
  for path in files:
    try:
      prints[path if "://" in path else os.path.abspath(path)] = (
          file_fingerprint.fingerprint(path))
    except (OSError, tf.errors.OpError) as e:
      reason = getattr(e, "strerror", None) or getattr(e, "message", e)
      raise InputFileError(f"--input_file {path}: cannot read it "
                           f"({reason})") from None
  return prints


def output_settings(settings, files):
  """What the records under --output_file depend on, keyed by flag name.

  The corpus is identified by its files (absolute paths) and their
  fingerprints (size, modification time, sha256 of sampled blocks: see
  files/file_fingerprint.py), the vocabulary by its content, so that
  renaming or moving a vocabulary does not matter but replacing it does,
  and an edit of the corpus that keeps its size is seen.
  """
  recorded = {name: getattr(settings, name) for name in _SHAPING_FLAGS}
  for name in ("spm_model_file", "vocab_file"):
    path = getattr(settings, name)
    recorded[f"{name} (sha256)"] = _file_sha256(path) if path else None
  prints = _corpus_fingerprints(files)
  recorded[CORPUS_SIZES_KEY] = {path: fingerprint["size"]
                                for path, fingerprint in prints.items()}
  recorded[CORPUS_FINGERPRINTS_KEY] = {
      path: {k: v for k, v in fingerprint.items() if k != "size"}
      for path, fingerprint in prints.items()}
  return recorded


def _corpus_changes(recorded, now, limit=3):
  """The input files that differ between two manifests, in words."""
  # pylint: disable=g-import-not-at-top
  from albert_tf.files import file_fingerprint

  def prints(settings):
    sizes = settings.get(CORPUS_SIZES_KEY) or {}
    more = settings.get(CORPUS_FINGERPRINTS_KEY) or {}
    return {path: dict(more.get(path) or {}, size=size)
            for path, size in sizes.items()}

  old, new = prints(recorded), prints(now)
  changes = []
  for path in sorted(set(old) | set(new)):
    if path not in new:
      changes.append(f"{path} no longer given")
    elif path not in old:
      changes.append(f"{path} added")
    elif CORPUS_FINGERPRINTS_KEY not in recorded:
      if old[path]["size"] != new[path]["size"]:
        changes.append(f"{path}: " + file_fingerprint.describe_change(
            old[path], new[path]))
    elif old[path] != new[path]:
      changes.append(f"{path}: " + file_fingerprint.describe_change(
          old[path], new[path]))
  if len(changes) > limit:
    changes[limit:] = [f"and {len(changes) - limit} more file(s)"]
  return changes


def _manifest_location(output_file):
  """(directory, manifest name) of .OUTPUT_FILE.manifest.json: beside the
  shards, hidden like the stats file, so that NAME* matches shards only."""
  directory, name = os.path.split(os.path.abspath(output_file))
  return directory, "." + name


def _adopt_legacy_manifest(output_file, log):
  """Moves OUTPUT_FILE.manifest.json (an older version's name, which NAME*
  matches) to the hidden name, so that its record keeps guarding the
  shards it describes."""
  directory, manifest_name = _manifest_location(output_file)
  path = run_manifest.manifest_path(directory, manifest_name)
  legacy = run_manifest.manifest_path(directory, manifest_name[1:])
  if os.path.exists(legacy) and not os.path.exists(path):
    os.replace(legacy, path)
    log(f"note: moved {legacy} to {path} (sidecars are hidden now, so that "
        f"the pattern {output_file}* matches shards only)")


def check_or_record_output_settings(settings, files, log=print):
  """Records what shapes the records beside --output_file, or checks a rerun.

  A rerun with other settings would skip complete shards made with the old
  ones and mix the two: it is refused naming each differing flag, before
  anything is written. With --overwrite every shard is regenerated, so the
  old shards are deleted and the new settings recorded. When no shard of
  the old settings remains, there is nothing to mix: the new settings are
  recorded. Shards without a manifest (written by an older version) are
  taken to match, with a note.

  Returns the manifest's path and whether it was recorded by this call.
  """
  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data import shard_files
  directory, name = _manifest_location(settings.output_file)
  path = run_manifest.manifest_path(directory, name)
  now = output_settings(settings, files)
  paths = shard_files.shard_paths(settings.output_file, settings.output_shards)
  recorded = run_manifest.read_manifest(directory, name)
  if recorded is None:
    existing = shard_files.existing_shards(settings.output_file, paths)
    if existing:
      log(f"note: {len(existing)} shard(s) of --output_file "
          f"{settings.output_file} have no record of their settings "
          "(written by an older version); taking them to match these flags")
    run_manifest.check_or_record(directory, now, name=name)
    return path, True
  try:
    run_manifest.check_or_record(directory, now, name=name,
                                 flag_name="output_file")
    return path, False
  except run_manifest.RunManifestMismatchError as e:
    differences = e.differences
  old_count = recorded.get("output_shards")
  old_paths = (shard_files.shard_paths(settings.output_file, old_count)
               if isinstance(old_count, int) and old_count >= 1 else [])
  old_existing = shard_files.existing_shards(
      settings.output_file, sorted(set(old_paths) | set(paths)))
  corpus_keys = (CORPUS_SIZES_KEY, CORPUS_FINGERPRINTS_KEY)
  corpus_changes = (_corpus_changes(recorded, now)
                    if set(differences) & set(corpus_keys) else [])
  listed = "; ".join(
      [f"--{key} {run_manifest.show_value(old)} recorded, "
       f"{run_manifest.show_value(new)} now"
       for key, (old, new) in differences.items() if key not in corpus_keys]
      + ([f"--input_file changed: {', '.join(corpus_changes)}"]
         if corpus_changes else []))
  if old_existing and not settings.overwrite:
    remedy = ("restore the corpus they were made from, pass --overwrite to "
              "regenerate every shard from the corpus as it is now"
              if corpus_changes else
              "rerun with the recorded flags to complete them, pass "
              "--overwrite to regenerate every shard")
    raise OutputLocationError(
        f"--output_file {settings.output_file} holds {len(old_existing)} "
        f"shard(s) made with other settings ({listed}); {remedy}, or "
        f"choose another --output_file (see {path})")
  if old_existing:
    log(f"--overwrite: deleting {len(old_existing)} shard(s) made with other "
        f"settings ({listed})")
    shard_files.remove_all_partial_files(settings.output_file, old_paths)
    shard_files.remove_outputs(settings.output_file, old_existing)
  write_text_atomically(path, json.dumps(now, indent=2, sort_keys=True) + "\n")
  return path, True


@contextlib.contextmanager
def _output_guard(settings, log):
  """One writer per --output_file (a lock file beside it) and a manifest of
  the settings that shape its records, both before anything is written.

  Yields the manifest's path and whether this run recorded it. Remote
  outputs (gs://...) have neither: object stores have no file locks.
  """
  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data import documents
  from albert_tf.pretraining_data import generator
  if "://" in settings.output_file:
    log("note: remote --output_file: no lock against concurrent runs and no "
        "record of the settings (make sure one run at a time writes it, "
        "with the same flags)")
    yield None, False
    return
  files = documents.expand_input_files(settings.input_file)
  for path in files:  # An unreadable file: "permission denied", up front.
    locations.check_readable(path, "input_file")
  generator.LineTokenizer(**settings.tokenizer_args())  # A bad vocab first.
  directory, name = os.path.split(os.path.abspath(settings.output_file))
  with output_lock.lock_output_dir(
      directory, flag_name="output_file",
      lock_filename=output_lock.lock_filename_for(name)):
    _adopt_legacy_manifest(settings.output_file, log)
    yield check_or_record_output_settings(settings, files, log=log)


def _generate(settings, log, pipeline_args):
  """Runs the local or the Beam driver; returns {path: examples} written."""
  if settings.runner:
    from albert_tf.pretraining_data import beam_pipeline  # pylint: disable=g-import-not-at-top
    if settings.num_workers != 1:
      log("note: --num_workers is for the local driver; with --runner, "
          "Beam's runner decides how many workers write shards")
    return beam_pipeline.run_pipeline(
        settings.input_file, settings.output_file, settings.tokenizer_args(),
        settings.generation_config(), output_shards=settings.output_shards,
        overwrite=settings.overwrite, runner=settings.runner,
        pipeline_args=pipeline_args, log=log)
  return create_pretraining_data(
      settings.input_file, settings.output_file, settings.tokenizer_args(),
      settings.generation_config(), output_shards=settings.output_shards,
      num_workers=settings.num_workers, overwrite=settings.overwrite, log=log)


def run(settings, log=print, pipeline_args=()):
  """Does what the settings ask; returns {path: examples} written.

  `pipeline_args` (["--project=...", ...]) are Beam pipeline options, for
  --runner only.
  """
  if pipeline_args and not settings.runner:
    raise FlagError(f"unknown flags {' '.join(pipeline_args)} (Beam "
                    "pipeline options need --runner)")
  for name in ("input_file", "output_file"):
    if not getattr(settings, name):
      raise FlagError(f"--{name} is required")
  if not (settings.vocab_file or settings.spm_model_file):
    raise FlagError("pass --spm_model_file or --vocab_file")
  # Before the manifest records anything (an output location must not be
  # claimed by a run that cannot start).
  for name in ("output_shards", "num_workers"):
    if getattr(settings, name) < 1:
      raise FlagError(f"--{name} must be at least 1, got "
                      f"{getattr(settings, name)}")
  if settings.do_permutation:
    raise FlagError("--do_permutation is not supported")
  if settings.max_predictions_per_seq > settings.max_seq_length:
    raise FlagError(
        f"--max_predictions_per_seq={settings.max_predictions_per_seq} "
        f"exceeds --max_seq_length={settings.max_seq_length}")
  if os.path.isdir(settings.output_file):
    raise FlagError(f"--output_file {settings.output_file} is a directory; "
                    "pass a file name (the shard prefix), e.g. "
                    f"{os.path.join(settings.output_file, 'train.tfrecord')}")
  # Shards are written under the prefix's folder: a file in the way or a
  # read-only folder must stop the run before the corpus is read.
  locations.check_output_file(settings.output_file, "output_file")
  # The algorithm's own flags too, before the manifest records them.
  settings.generation_config().validate()
  with _output_guard(settings, log) as (manifest, recorded_now):
    written = _generate(settings, log, pipeline_args)
    total = sum(written.values())
    if written and not total:
      # An empty corpus would otherwise leave empty shards that later runs
      # skip as complete, and pretraining would find no records.
      from albert_tf.pretraining_data import shard_files  # pylint: disable=g-import-not-at-top
      shard_files.remove_outputs(settings.output_file, list(written))
      if recorded_now:
        os.remove(manifest)
      raise InputFileError(
          f"--input_file {settings.input_file} holds no text to make "
          "examples from (empty or whitespace-only files); nothing was "
          "written")
  log(f"wrote {total:,} examples to {len(written)} shard(s): "
      + ", ".join(sorted(written)))
  return written
