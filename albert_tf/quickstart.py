r"""The whole pretraining job, end to end, on CPU in a few minutes.

  python -m albert_tf.quickstart [--output_dir=albert_quickstart]

1. writes a corpus generated on this machine: the docstrings of Python's
   standard library, one document per module (no download);
2. trains a SentencePiece vocabulary on it (train_sentencepiece);
3. writes pretraining TFRecords, train and held-out eval modules
   (create_pretraining_data);
4. pretrains a tiny ALBERT with run_scripts/pretrain_tiny_cpu.flags
   (run_pretraining: LAMB, MLM + SOP), evaluates it and keeps the best
   checkpoint;
5. prints how the loss fell and where everything is.

Run it again with the same --output_dir and every finished step is reused;
an interrupted pretraining resumes from its last checkpoint.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import importlib
import inspect
import os
import re
import sys
import warnings

from absl import app
from absl import flags
from absl import logging

from albert_tf.files.atomic_write import write_text_atomically

FLAGS = flags.FLAGS
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_FLAGFILE = os.path.join(PROJECT_ROOT, "run_scripts",
                             "pretrain_tiny_cpu.flags")
TINY_CONFIG = os.path.join(PROJECT_ROOT, "run_scripts", "configs",
                           "albert_tiny_cpu.json")
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


def define_flags():
  flags.DEFINE_string("output_dir", "albert_quickstart",
                      "Where the corpus, vocabulary, data and model go.")
  flags.DEFINE_integer("vocab_size", 2000, "SentencePiece vocabulary size "
                       "(the tiny config's vocab_size must match).")
  flags.DEFINE_integer("dupe_factor", 4, "create_pretraining_data "
                       "--dupe_factor.")
  flags.DEFINE_integer("num_train_steps", None, "Override the flagfile's "
                       "--num_train_steps.")


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
  """Writes the train and eval corpora; returns (train docs, eval docs)."""
  documents = [module_document(name) for name in CORPUS_MODULES]
  documents = [d for d in documents if len(d) >= 2]
  split = len(documents) - EVAL_MODULES
  for path, docs in ((train_path, documents[:split]),
                     (eval_path, documents[split:])):
    write_text_atomically(
        path, "\n\n".join("\n".join(doc) for doc in docs) + "\n")
  return split, len(documents) - split


def _step(message):
  print(f"\n== {message}", flush=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  # pylint: disable=g-import-not-at-top
  from albert_tf import create_pretraining_data
  from albert_tf import run_pretraining
  from albert_tf import train_sentencepiece
  from albert_tf.pretraining_data.generator import GenerationConfig
  from albert_tf.pretraining_data.masking import MaskingConfig

  if not os.path.exists(TINY_FLAGFILE):
    print(f"error: {TINY_FLAGFILE} is missing (run from a checkout of "
          "albert_tf)", file=sys.stderr)
    return 1
  out = os.path.abspath(FLAGS.output_dir)
  corpus_dir = os.path.join(out, "corpus")
  os.makedirs(corpus_dir, exist_ok=True)
  train_text = os.path.join(corpus_dir, "train.txt")
  eval_text = os.path.join(corpus_dir, "eval.txt")

  _step("1/4 corpus: Python standard library docstrings, generated here")
  if os.path.exists(train_text) and os.path.exists(eval_text):
    print(f"reusing {train_text}")
  else:
    train_docs, eval_docs = write_corpus(train_text, eval_text)
    print(f"wrote {train_docs} train and {eval_docs} eval documents to "
          f"{corpus_dir}")

  _step(f"2/4 SentencePiece vocabulary ({FLAGS.vocab_size} pieces)")
  model_prefix = os.path.join(out, "spm", "albert_quickstart")
  spm_model = model_prefix + ".model"
  if os.path.exists(spm_model):
    print(f"reusing {spm_model}")
  else:
    train_sentencepiece.run([train_text], model_prefix, FLAGS.vocab_size,
                            num_threads=2)

  _step("3/4 pretraining data (create_pretraining_data)")
  data_dir = os.path.join(out, "data")
  tokenizer_args = dict(spm_model_file=spm_model, do_lower_case=True)
  config = GenerationConfig(max_seq_length=128, dupe_factor=FLAGS.dupe_factor,
                            masking=MaskingConfig(max_predictions_per_seq=20))
  for text, name, shards in ((train_text, "train", 2), (eval_text, "eval", 1)):
    create_pretraining_data.create_pretraining_data(
        text, os.path.join(data_dir, name), tokenizer_args, config,
        output_shards=shards)

  _step("4/4 pretraining a tiny ALBERT (run_pretraining, "
        "run_scripts/pretrain_tiny_cpu.flags)")
  values = flags.FlagValues()
  run_pretraining.define_flags(values)
  args = ["run_pretraining", f"--flagfile={TINY_FLAGFILE}",
          f"--albert_config_file={TINY_CONFIG}",
          f"--input_file={os.path.join(data_dir, 'train-*')}",
          f"--eval_input_file={os.path.join(data_dir, 'eval*')}",
          f"--output_dir={os.path.join(out, 'pretraining')}"]
  if FLAGS.num_train_steps:
    args.append(f"--num_train_steps={FLAGS.num_train_steps}")
  values(args)
  first_losses = []
  stdout = sys.stdout  # run_pretraining sends other prints to the log.

  def show(line):
    if line.startswith("step ") and not first_losses:
      first_losses.append(line)
    print(line, file=stdout, flush=True)

  try:
    train_output, best = run_pretraining.run(values, print_fn=show)
  except (run_pretraining.UsageError,
          run_pretraining.TrainingDivergedError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1

  print("\n== done")
  if first_losses and train_output:
    first = float(first_losses[0].split("| loss ")[1].split()[0])
    print(f"training loss fell from {first:.3f} (first "
          f"{values.iterations_per_loop} steps) to "
          f"{train_output['total_loss']:.3f} (last "
          f"{values.iterations_per_loop} steps)")
  if best:
    print(f"best held-out masked_lm_accuracy {best['value']:.3f} at step "
          f"{best['global_step']}")
  pretraining = os.path.join(out, "pretraining")
  print(f"eval results:   {os.path.join(pretraining, 'eval_results.txt')}\n"
        f"best model:     {os.path.join(pretraining, 'model.ckpt-best')} "
        "(original variable names)\n"
        f"final model:    {os.path.join(pretraining, 'tf1')}\n"
        f"vocabulary:     {spm_model}\n"
        f"TensorBoard:    tensorboard --logdir "
        f"{os.path.join(pretraining, 'summaries')}")
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
