"""The quick start's job: corpus, vocabulary, data, pretraining, export,
serving demo, fine-tuning and tagging demo, each stage reused on a rerun
with the same settings (StageRecords).

  quickstart_job.run(quickstart_job.defaults(output_dir="albert_quickstart"))

albert_tf/quickstart.py is its command line and describes the stages;
quickstart_settings.py holds the settings.
"""

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import warnings


from albert_tf import quickstart_reviews
from albert_tf import settings as settings_lib
from albert_tf.cli import flag_table
from albert_tf.cli import log_verbosity
from albert_tf.errors import OutputLocationError
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.quickstart_settings import check_settings
# The settings beside the job, for callers of quickstart_job.run.
from albert_tf.quickstart_settings import defaults  # pylint: disable=unused-import
from albert_tf.quickstart_settings import QuickstartSettings  # pylint: disable=unused-import

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "quickstart_data")
# Copies of run_scripts/pretrain_tiny_cpu.flags and
# run_scripts/configs/albert_tiny_cpu.json (a test keeps them equal).
TINY_FLAGFILE = os.path.join(DATA_DIR, "pretrain_tiny_cpu.flags")
TINY_CONFIG = os.path.join(DATA_DIR, "albert_tiny_cpu.json")
ENCODER_DEMO = "encoder_demo.py"
TAGGER_DEMO = "tagger_demo.py"
STATE_FILE = "quickstart_state.json"
NUM_STAGES = 8
# Modules whose docstrings make the corpus; the last few are held out for
# evaluation. Pure-Python, present in every CPython 3.11.
CORPUS_MODULES = (
    "abc", "argparse", "ast", "asyncio", "base64", "bisect", "calendar",
    "cmd", "codecs", "collections", "concurrent.futures", "configparser",
    "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
    "difflib", "email", "enum", "fileinput", "fnmatch", "fractions",
    "ftplib", "functools", "getopt", "gettext", "glob", "gzip", "hashlib",
    "heapq", "hmac", "html", "http.client", "http.server", "imaplib",
    "importlib", "inspect", "io", "ipaddress", "json", "logging", "lzma",
    "mailbox", "mimetypes", "multiprocessing", "netrc", "numbers",
    "operator", "optparse", "os", "pathlib", "pdb", "pickle", "pkgutil",
    "platform", "plistlib", "poplib", "pprint", "profile", "queue",
    "random", "re", "sched", "secrets", "selectors", "shelve", "shlex",
    "shutil", "signal", "smtplib", "socket", "socketserver", "sqlite3",
    "statistics", "string", "struct", "subprocess", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "tokenize", "trace", "traceback",
    "turtle", "typing", "unittest", "urllib.parse", "urllib.request",
    "uuid", "warnings", "wave", "weakref", "xml.dom.minidom", "zipfile",
    "zipimport", "tkinter", "doctest", "pydoc", "smtpd", "telnetlib",
    "nntplib", "imghdr", "locale", "sysconfig")
EVAL_MODULES = 8
# Unlabelled generated reviews added to the pretraining text (about 150 KB
# beside 420 KB of docstrings): without them the tagger starts from a model
# that never saw a review and its dev F1 stays near 0.4 (docs/finetuning.md).
CORPUS_REVIEWS = 3000
# Raw sentences for the serving demo, and a sentence in no module's
# docstring with the word to fill in.
SERVING_SENTENCES = ("Return the number of items in the list.",
                     "Close the file and release its resources.")
FILL_IN_SENTENCE = "If the file does not exist, an error is raised."
FILL_IN_WORD = "file"
TAGGING_REVIEWS = (quickstart_reviews.DEMO_REVIEW,
                   "The pad thai was great but the service was slow.")
# The dish tagger: a tiny model learns fast, so a large learning rate and
# short sequences (reviews are short) keep fine-tuning to a minute. The
# stable recipe (Adam's bias correction, a faster head) is what keeps it
# from collapsing to "no dish anywhere" (docs/finetuning.md).
# input_masking_rate: measured on this tagger, 16 seeds: mean dev span F1
# 0.600 without, 0.694 with (docs/finetuning.md); not a default of
# run_token_classification (it ruins a 12-layer tagger in the same test).
TAGGER_SETTINGS = dict(max_seq_length=64, train_batch_size=32,
                       eval_batch_size=32, learning_rate=1e-3,
                       optimizer="adamw", finetuning_recipe="stable",
                       input_masking_rate=0.15)


def tagger_stage_key(pretraining_key, reviews_digest, steps, settings):
  """What the tagger stage's outputs depend on: the pretrained model, the
  reviews, the steps and the settings, the fine-tuning recipe's resolved
  defaults included (a release that changes them trains the tagger again
  instead of reusing the old one)."""
  return {"pretraining": pretraining_key, "reviews": reviews_digest,
          "steps": steps, "settings": TAGGER_SETTINGS,
          "recipe": settings.optimizer_options()}


def tagger_settings(steps):
  """The dish tagger's run_token_classification settings other than its
  files and what to do (also the stability benchmark's quick start
  scenario)."""
  return dict(entity_type=quickstart_reviews.ENTITY_TYPE,
              text_column=quickstart_reviews.TEXT_COLUMN,
              entity_column=quickstart_reviews.ENTITY_COLUMN,
              train_step=steps, warmup_step=steps // 10,
              # Evaluated halfway and at the end; the better one is kept.
              save_checkpoints_steps=-(-steps // 2),
              iterations_per_loop=min(50, steps), **TAGGER_SETTINGS)


# Fields of the pretraining settings that are paths (not part of what
# makes a run differ).
PATH_FIELDS = ("albert_config_file", "input_file", "eval_input_file",
               "output_dir", "init_checkpoint", "spm_model_file",
               "vocab_file")


class QuickstartError(RuntimeError):
  """A stage did not do what it should (not the user's to fix)."""


# -- stages and their records -------------------------------------------------


def _canonical(value):
  """`value` as it reads back from JSON (tuples become lists)."""
  return json.loads(json.dumps(value, sort_keys=True))


class StageRecords:
  """What each stage was made with, in <output_dir>/quickstart_state.json.

  A stage's key holds its settings and the keys of the stages it reads, so
  a change anywhere invalidates everything downstream of it.
  """

  def __init__(self, output_dir):
    self.output_dir = output_dir
    self.path = os.path.join(output_dir, STATE_FILE)
    self.records = {}
    if os.path.exists(self.path):
      try:
        with open(self.path, encoding="utf-8") as f:
          self.records = json.load(f)
      except (OSError, ValueError) as e:
        raise OutputLocationError(
            f"{self.path} is unreadable ({e}); remove it together with the "
            "outputs it describes, or pass another --output_dir") from None

  def _save(self):
    write_text_atomically(self.path,
                          json.dumps(self.records, indent=2, sort_keys=True))

  def begin(self, name, key, outputs):
    """True when the stage has to run, False when its outputs are reused.

    Outputs made with other settings are removed first; those of an
    interrupted run with the same settings stay, for the stage to resume.
    Raises OutputLocationError for outputs the quick start has no record
    of writing (it removes only what it wrote).
    """
    key = _canonical(key)
    record = self.records.get(name)
    present = [path for path in outputs if os.path.lexists(path)]
    if (record is not None and record["key"] == key and record["finished"]
        and len(present) == len(outputs)):
      return False
    if record is None and present:
      raise OutputLocationError(
          f"{present[0]} exists but {self.path} has no record of the quick "
          "start writing it; remove it or pass another --output_dir")
    if record is not None and record["key"] != key:
      for path in present:
        if os.path.isdir(path) and not os.path.islink(path):
          shutil.rmtree(path)
        else:
          os.remove(path)
    self.records[name] = {"key": key, "finished": False}
    self._save()
    return True

  def finish(self, name, **results):
    self.records[name].update(finished=True, results=_canonical(results))
    self._save()

  def key(self, name):
    return self.records[name]["key"]

  def results(self, name):
    return self.records[name].get("results", {})


def _step(number, message):
  print(f"\n== {number}/{NUM_STAGES} {message}", flush=True)


def _reusing(outputs):
  print("reusing " + ", ".join(outputs) + " (finished earlier with the same "
        "settings)", flush=True)


# Prints the fine-tuning trainer's progress while the log stays at WARNING.
log_lines_of = log_verbosity.log_lines_of


# -- 1. corpus -------------------------------------------------------------------


def module_document(name):
  """One document: the module's docstring and its public members', a
  paragraph per line."""
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Deprecated modules still document.
    try:
      module = importlib.import_module(name)
    except Exception:  # pylint: disable=broad-except  # e.g. no tkinter
      return []
  docs = [inspect.getdoc(module) or ""]
  for attribute, member in sorted(vars(module).items()):
    if attribute.startswith("_"):
      continue
    if (inspect.isclass(member) or inspect.isfunction(member)) and (
        getattr(member, "__module__", None) == module.__name__):
      docs.append(inspect.getdoc(member) or "")
  lines = []
  for doc in docs:
    for paragraph in re.split(r"\n\s*\n", doc):
      text = " ".join(paragraph.split())
      if len(text) > 20 and not text.startswith((">>>", "...")):
        lines.append(text)
  return lines


def write_corpus(train_path, eval_path):
  """Writes the train and eval corpora; returns (train docs, eval docs).

  Training text: the docstrings plus CORPUS_REVIEWS unlabelled restaurant
  reviews, so that the tagger of stage 7 starts from a model that has read
  reviews (as a user pretrains on their own domain). Evaluation: the
  held-out modules' docstrings.
  """
  documents = [module_document(name) for name in CORPUS_MODULES]
  documents = [d for d in documents if len(d) >= 2]
  split = len(documents) - EVAL_MODULES
  train = documents[:split] + quickstart_reviews.corpus_documents(
      CORPUS_REVIEWS)
  for path, docs in ((train_path, train),
                     (eval_path, documents[split:])):
    write_text_atomically(
        path, "\n\n".join("\n".join(doc) for doc in docs) + "\n")
  return len(train), len(documents) - split


# -- the run -------------------------------------------------------------------


class Quickstart:
  """One run: the paths, the stage records and the stages in order."""

  def __init__(self, settings):
    self.settings = settings
    self.out = out = os.path.abspath(settings.output_dir)
    try:
      os.makedirs(out, exist_ok=True)
    except OSError as e:
      raise OutputLocationError(f"--output_dir {out}: {e}") from None
    self.records = StageRecords(out)
    self.corpus_dir = os.path.join(out, "corpus")
    self.train_text = os.path.join(self.corpus_dir, "train.txt")
    self.eval_text = os.path.join(self.corpus_dir, "eval.txt")
    self.spm_dir = os.path.join(out, "spm")
    self.spm_model = os.path.join(self.spm_dir, "albert_quickstart.model")
    self.data_dir = os.path.join(out, "data")
    self.pretraining_dir = os.path.join(out, "pretraining")
    self.config_file = os.path.join(self.pretraining_dir, "albert_config.json")
    self.best_checkpoint = os.path.join(self.pretraining_dir,
                                        "model.ckpt-best")
    self.export_dir = os.path.join(out, "export")
    self.reviews_dir = os.path.join(out, "reviews")
    self.tagger_dir = os.path.join(out, "tagger")
    self.tagger_serving = os.path.join(self.tagger_dir, "serving")
    self.demo_dir = os.path.join(out, "demo")
    self.pretraining = None  # PretrainingSettings, once known.

  def run(self):
    started = time.monotonic()
    self.corpus()
    self.vocabulary()
    self.pretraining = self.pretraining_settings()
    self.pretraining_data()
    self.pretrain()
    self.export()
    self.serving_demo()
    self.fine_tune()
    self.tagging_demo()
    self.summary(time.monotonic() - started)

  # 1
  def corpus(self):
    _step(1, "corpus: Python standard library docstrings and generated "
          "restaurant reviews")
    key = {"modules": CORPUS_MODULES, "eval_modules": EVAL_MODULES,
           "reviews": CORPUS_REVIEWS, "python": list(sys.version_info[:2])}
    if not self.records.begin("corpus", key, [self.corpus_dir]):
      _reusing([self.corpus_dir])
      return
    train_docs, eval_docs = write_corpus(self.train_text, self.eval_text)
    print(f"wrote {train_docs} train and {eval_docs} held-out documents to "
          f"{self.corpus_dir}")
    self.records.finish("corpus")

  # 2
  def vocabulary(self):
    # pylint: disable=g-import-not-at-top
    from albert_tf.tokenization import sentencepiece_training
    from albert_tf.tokenization import sentencepiece_training_settings
    _step(2, f"SentencePiece vocabulary ({self.settings.vocab_size} pieces, "
          "train_sentencepiece)")
    key = {"corpus": self.records.key("corpus"),
           "vocab_size": self.settings.vocab_size}
    if not self.records.begin("vocabulary", key, [self.spm_dir]):
      _reusing([self.spm_model])
      return
    sentencepiece_training.train(sentencepiece_training_settings.defaults(
        input=self.train_text, model_prefix=self.spm_model[:-len(".model")],
        vocab_size=self.settings.vocab_size, num_threads=2, overwrite=True))
    self.records.finish("vocabulary")

  def pretraining_settings(self):
    """The tiny flagfile's settings, on this run's files and step count."""
    from albert_tf.training.pretraining_settings import PretrainingSettings  # pylint: disable=g-import-not-at-top
    tiny = flag_table.settings_from_flagfile(PretrainingSettings,
                                             TINY_FLAGFILE)
    steps = self.settings.num_train_steps or tiny.num_train_steps
    return dataclasses.replace(
        tiny, albert_config_file=self.config_file,
        input_file=os.path.join(self.data_dir, "train-*"),
        eval_input_file=os.path.join(self.data_dir, "eval*"),
        output_dir=self.pretraining_dir, num_train_steps=steps,
        num_warmup_steps=round(tiny.num_warmup_steps * steps /
                               tiny.num_train_steps),
        save_checkpoints_steps=min(tiny.save_checkpoints_steps, steps),
        iterations_per_loop=min(tiny.iterations_per_loop, steps))

  # 3
  def pretraining_data(self):
    # pylint: disable=g-import-not-at-top
    from albert_tf.pretraining_data import data_generation_job
    from albert_tf.pretraining_data import data_generation_settings
    _step(3, "pretraining data (create_pretraining_data)")
    settings = self.pretraining
    key = {"vocabulary": self.records.key("vocabulary"),
           "dupe_factor": self.settings.dupe_factor,
           "max_seq_length": settings.max_seq_length,
           "max_predictions_per_seq": settings.max_predictions_per_seq}
    if not self.records.begin("data", key, [self.data_dir]):
      _reusing([self.data_dir])
      return
    for text, name, shards in ((self.train_text, "train", 2),
                               (self.eval_text, "eval", 1)):
      data_generation_job.run(data_generation_settings.defaults(
          input_file=text, output_file=os.path.join(self.data_dir, name),
          spm_model_file=self.spm_model, do_lower_case=True,
          max_seq_length=settings.max_seq_length,
          max_predictions_per_seq=settings.max_predictions_per_seq,
          dupe_factor=self.settings.dupe_factor, output_shards=shards))
    self.records.finish("data")

  # 4
  def pretrain(self):
    from albert_tf.training import pretraining_job  # pylint: disable=g-import-not-at-top
    settings = self.pretraining
    _step(4, f"pretraining a tiny ALBERT for {settings.num_train_steps} "
          "steps (run_pretraining, quickstart_data/pretrain_tiny_cpu.flags)")
    with open(TINY_CONFIG, encoding="utf-8") as f:
      config = dict(json.load(f), vocab_size=self.settings.vocab_size)
    key = {"data": self.records.key("data"), "config": config,
           "settings": {k: v for k, v in dataclasses.asdict(settings).items()
                        if k not in PATH_FIELDS}}
    if not self.records.begin("pretraining", key, [self.pretraining_dir]):
      _reusing([self.pretraining_dir])
    else:
      write_text_atomically(self.config_file,
                            json.dumps(config, indent=2, sort_keys=True))
      train_output, best = pretraining_job.run(settings)
      results = {"best": best}
      if train_output:
        results["final_loss"] = float(train_output["total_loss"])
      self.records.finish("pretraining", **results)
    results = self.records.results("pretraining")
    best = results.get("best")
    if best:
      print(f"best held-out masked-LM accuracy {best['value']:.3f} at step "
            f"{best['global_step']}" +
            (f"; final training loss {results['final_loss']:.3f}"
             if "final_loss" in results else ""))

  # 5
  def export(self):
    # pylint: disable=g-import-not-at-top
    from tfhub_export import export_job
    from tfhub_export import export_settings
    _step(5, "export: TF Hub encoder and preprocessor, TF Serving model "
          "(tfhub_export.export, export_type=all)")
    seq_length = self.pretraining.max_seq_length
    key = {"pretraining": self.records.key("pretraining"),
           "seq_length": seq_length}
    if not self.records.begin("export", key, [self.export_dir]):
      _reusing([self.export_dir])
      return
    export_job.run(export_settings.defaults(
        albert_config_file=self.config_file,
        checkpoint=self.best_checkpoint, spm_model_file=self.spm_model,
        export_path=self.export_dir, export_type="all", seq_length=seq_length,
        overwrite=True))
    self.records.finish("export")

  def _demo(self, script, args):
    """Runs a demo script in a fresh Python; the scripts are copied to
    <output_dir>/demo/ first, for users to run again."""
    os.makedirs(self.demo_dir, exist_ok=True)
    path = os.path.join(self.demo_dir, script)
    shutil.copyfile(os.path.join(DATA_DIR, script), path)
    command = [sys.executable, path, *args]
    sys.stdout.flush()
    returncode = subprocess.run(command, check=False).returncode
    if returncode:
      raise QuickstartError(
          f"{script} failed with exit status {returncode} (its messages are "
          f"above); to run it again: {shlex.join(command)}")
    return command

  # 6
  def serving_demo(self):
    _step(6, "serving demo: a fresh Python with only TensorFlow and TF Text "
          "loads the exports")
    self._demo(ENCODER_DEMO, [self.export_dir, *SERVING_SENTENCES,
                              f"--fill_in={FILL_IN_SENTENCE}",
                              f"--mask_word={FILL_IN_WORD}"])

  # 7
  def fine_tune(self):
    # pylint: disable=g-import-not-at-top
    from albert_tf.tasks import runner
    from albert_tf.tasks.token_classification import TokenClassificationTask
    steps = self.settings.finetune_steps
    _step(7, f"fine-tuning a dish tagger for {steps} steps on generated "
          "restaurant reviews (run_token_classification)")
    paths = quickstart_reviews.write_dataset(self.reviews_dir)
    digest = hashlib.sha256()
    for split in sorted(paths):
      with open(paths[split], "rb") as f:
        digest.update(f.read())
    held_out = quickstart_reviews.HELD_OUT_DISHES
    print(f"wrote train.csv, dev.csv and test.csv to {self.reviews_dir} "
          f"(header review,dish_name; {len(held_out)} dishes, e.g. "
          f"{held_out[1]}, only in dev and test)")
    settings = runner.settings_maker(TokenClassificationTask)(
        data_dir=self.reviews_dir, albert_config_file=self.config_file,
        spm_model_file=self.spm_model, init_checkpoint=self.best_checkpoint,
        output_dir=self.tagger_dir, export_dir=self.tagger_serving,
        do_train=True, do_eval=True, **tagger_settings(steps))
    key = tagger_stage_key(self.records.key("pretraining"),
                           digest.hexdigest(), steps, settings)
    if not self.records.begin("tagger", key, [self.tagger_dir]):
      _reusing([self.tagger_dir])
    else:
      with log_lines_of({"finetuning_trainer"}):
        job = runner.run(TokenClassificationTask, settings)
      best = job.trainer.best_metrics() or {}
      # eval_predictions.txt is the best checkpoint's (written last).
      held_out = quickstart_reviews.held_out_scores(
          os.path.join(self.tagger_dir, "eval_predictions.txt"))
      self.records.finish("tagger", dev=best.get("metrics", {}),
                          held_out=held_out, step=best.get("step"))
    results = self.records.results("tagger")
    if "f1" in results.get("dev", {}):
      print(f"dev span F1 {results['dev']['f1']:.3f} (best checkpoint, step "
            f"{results['step']})")
    held_out = results.get("held_out")
    if held_out:
      print(f"on the {held_out['mentions']} dev mentions of dishes held out "
            f"of training: span F1 {held_out['f1']:.3f} (precision "
            f"{held_out['precision']:.3f}, recall {held_out['recall']:.3f})")

  # 8
  def tagging_demo(self):
    _step(8, "tagging demo: a fresh Python with only TensorFlow and TF Text "
          "tags raw reviews")
    self._demo(TAGGER_DEMO, [self.tagger_serving, *TAGGING_REVIEWS])

  def _dev_f1(self):
    f1 = self.records.results("tagger").get("dev", {}).get("f1")
    return "-" if f1 is None else (
        f"{f1:.3f} ({os.path.join(self.tagger_dir, 'eval_results.txt')})")

  def summary(self, seconds):
    q = shlex.quote
    minutes, seconds = divmod(int(round(seconds)), 60)
    request = json.dumps({"instances": [
        {"text": quickstart_reviews.DEMO_REVIEW}]})
    rows = (
        ("pretrained model", f"{self.best_checkpoint} (original variable "
         "names)"),
        ("vocabulary", self.spm_model),
        ("TF Hub encoder", os.path.join(self.export_dir, "encoder")),
        ("TF Hub preprocessor", os.path.join(self.export_dir, "preprocessor")),
        ("TF Serving models", f"{os.path.join(self.export_dir, 'serving')} "
         "(encoder: pooled_output, sequence_output)"),
        ("", f"{self.tagger_serving} (dish tagger: text in; entities, "
         "entity_types, entity_starts/ends, entity_scores out)"),
        ("tag names", os.path.join(self.tagger_dir, "label_list.txt")),
        ("dish tagger dev F1", self._dev_f1()),
        ("demo scripts", f"{self.demo_dir} (TensorFlow and TF Text only)"),
        ("stage records", self.records.path),
    )
    print(f"\n== done in {minutes}m{seconds:02d}s")
    for label, value in rows:
      print(f"{label:<20} {value}")
    print(f"""
Serve the dish tagger with TF Serving 2.20 and ask it over REST:
  tensorflow_model_server --port=8500 --rest_api_port=8501 --model_name=dishes --model_base_path={q(self.tagger_serving)}
  curl -X POST http://localhost:8501/v1/models/dishes:predict -d {q(request)}
(the encoder likewise: --model_name=albert --model_base_path={q(os.path.join(self.export_dir, 'serving'))})
{serving_help(self.tagger_serving, "dishes", {"text": quickstart_reviews.DEMO_REVIEW})}
TensorBoard (pretraining):
  tensorboard --logdir {q(os.path.join(self.pretraining_dir, 'summaries'))}""",
          flush=True)


def python_client(serving_dir, inputs):
  """A shell command asking a serving export in Python, with no server.

  inputs: {input name: text} as the export's serving_default takes them
  (the tagger: {"text": ...}; the encoder: {"text_a": ..., "text_b": ""}).
  """
  arguments = ", ".join(f"{name}=tf.constant([{json.dumps(value)}])"
                        for name, value in inputs.items())
  code = (
      "import glob, tensorflow as tf, tensorflow_text; "
      f"newest = max(glob.glob({json.dumps(serving_dir + '/*')}), "
      "key=lambda path: int(path.rsplit(\"/\", 1)[1])); "
      "ask = tf.saved_model.load(newest).signatures[\"serving_default\"]; "
      f"outputs = ask({arguments}); "
      "print(*(f\"{k}: {v.numpy()}\" for k, v in outputs.items()), sep=\"\\n\")")
  # TF_CPP_MIN_LOG_LEVEL=3: without TensorFlow's start-up messages.
  return f"TF_CPP_MIN_LOG_LEVEL=3 python -c {shlex.quote(code)}"


def serving_help(serving_dir, model_name, inputs):
  """Where tensorflow_model_server comes from, and a client without it."""
  return f"""tensorflow_model_server is not on PyPI: it is in the official Docker image,
  docker run -p 8500:8500 -p 8501:8501 -e MODEL_NAME={model_name} -v {shlex.quote(serving_dir)}:/models/{model_name} tensorflow/serving:2.20.0
  (or apt-get install tensorflow-model-server from TensorFlow Serving's apt repository).
Without a model server, the same model answers in Python (TensorFlow and TF Text only):
  {python_client(serving_dir, inputs)}"""


def run(settings):
  """Runs (or resumes) the quick start the settings describe."""
  check_settings(settings)
  Quickstart(settings).run()
  return 0
