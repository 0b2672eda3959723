"""Exports of the reference checkpoints, shared by the tfhub_export tests.

The reference models have tiny vocabularies (120 and 150 ids), so the
exports bundle tokenizers of exactly that size made here: a SentencePiece
model trained (original ALBERT settings) on a slice of stdlib_docs.txt for
google_tiny and a WordPiece vocab.txt for zh_tiny. Each export is made once
per test process (functools.cache) in a temporary directory.
"""

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from albert_tf import tokenization
from albert_tf.tokenization import sentencepiece_training
from albert_tf.config import AlbertConfig
import reference_data as ref

# One flavor each: Google (SentencePiece) and albert_zh (WordPiece).
FLAVORS = ("google_tiny", "zh_tiny")
SEQ_LENGTH = 24
# Float32 outputs of an export against Keras: the project's tolerance (the
# difference depends on the CPU's vector instructions).
TOLERANCE = ref.TOLERANCE
INPUT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")
ENGLISH = [
    ("The quick brown fox jumps over the lazy dog.", ""),
    ("Return the number of items in a container.",
     "It costs 1,234 dollars, or was it 3,5?"),
    ("a", "b"),
    ("This function is a very long sentence that has to be truncated "
     "because it does not fit into the sequence length at all.",
     "Short one."),
    ("", "Only the second segment."),
]
CHINESE = [
    ("我们在北京大学学习。", ""),
    ("今天天气很好", "明天下雨吗？"),
    ("中文和English混合", "abc 123"),
    ("这是一个非常长的句子，它必须被截断，因为它不适合序列长度的限制，"
     "所以我们要看看截断是否和原来的代码一样。", "短句。"),
]


# Set to a directory to keep (and reuse) the exports between runs while
# debugging; by default they go to a temporary directory removed at exit.
KEEP_DIR_VARIABLE = "ALBERT_TF_EXPORT_TEST_DIR"


@functools.cache
def work_dir():
  kept = os.environ.get(KEEP_DIR_VARIABLE)
  if kept:
    os.makedirs(kept, exist_ok=True)
    return kept
  path = tempfile.mkdtemp(prefix="albert_tf_export_test_")
  atexit.register(shutil.rmtree, path, ignore_errors=True)
  return path


def config(name):
  return AlbertConfig.from_json_file(ref.config_path(name))


def texts(name):
  return CHINESE if name.startswith("zh") else ENGLISH


@functools.cache
def tokenizer_file(name):
  """A tokenizer with exactly the fixture's vocab_size ids."""
  vocab_size = config(name).vocab_size
  directory = os.path.join(work_dir(), f"tokenizer_{name}")
  os.makedirs(directory, exist_ok=True)
  if name.startswith("zh"):
    with open(ref.ZH_VOCAB, encoding="utf-8") as f:
      full = [line.rstrip("\n") for line in f]
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wanted = "".join(a + b for a, b in CHINESE) + "abcdefghijklmnopqrstuvwxyz"
    chosen = []
    for token in full:
      if len(chosen) + len(special) == vocab_size:
        break
      bare = token[2:] if token.startswith("##") else token
      if (token not in special and token not in chosen and bare and
          all(c in wanted for c in bare)):
        chosen.append(token)
    path = os.path.join(directory, "vocab.txt")
    with open(path, "w", encoding="utf-8") as f:
      f.write("\n".join(special + chosen) + "\n")
    assert len(tokenization.load_vocab(path)) == vocab_size
    return path
  with open(os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt"),
            encoding="utf-8") as f:
    lines = [line.strip().lower() for line in f if line.strip()][:400]
  lines = [re.sub(r"[^a-z0-9 ,.()\-]", " ", line) for line in lines]
  prefix = os.path.join(directory, "tiny")
  sentencepiece_training.train_model(iter(lines), prefix, vocab_size,
                                     character_coverage=1.0, num_threads=1)
  return prefix + ".model"


def tokenizer_kwargs(name):
  key = "vocab_file" if name.startswith("zh") else "spm_model_file"
  return {key: tokenizer_file(name)}


@functools.cache
def python_tokenizer(name):
  kwargs = tokenizer_kwargs(name)
  return tokenization.FullTokenizer(kwargs.get("vocab_file"),
                                    do_lower_case=True,
                                    spm_model_file=kwargs.get(
                                        "spm_model_file"))


def python_ids(name, text):
  """albert_tf's Python tokenization, as the original classifiers call it."""
  tokenizer = python_tokenizer(name)
  if tokenizer.sp_model is not None:
    text = tokenization.preprocess_text(text, lower=True)
  return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))


def python_pack(name, pairs, seq_length=SEQ_LENGTH, always_pair=False):
  """The original run_classifier packing of (text_a, text_b) pairs.

  An empty text_b means one segment, as in the original (`if
  example.text_b`), unless `always_pair` (then it is an empty segment B).
  """
  vocab = python_tokenizer(name).vocab
  cls, sep = vocab["[CLS]"], vocab["[SEP]"]
  pad = vocab.get("<pad>", vocab.get("[PAD]"))
  rows = {k: [] for k in INPUT_KEYS}
  for text_a, text_b in pairs:
    a = python_ids(name, text_a)
    if text_b or always_pair:
      b = python_ids(name, text_b)
      while len(a) + len(b) > seq_length - 3:
        (a if len(a) > len(b) else b).pop()
      ids = [cls] + a + [sep] + b + [sep]
      types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    else:
      ids = [cls] + a[:seq_length - 2] + [sep]
      types = [0] * len(ids)
    padding = seq_length - len(ids)
    rows["input_word_ids"].append(ids + [pad] * padding)
    rows["input_mask"].append([1] * len(ids) + [0] * padding)
    rows["input_type_ids"].append(types + [0] * padding)
  return {k: np.array(v, np.int32) for k, v in rows.items()}


EXPORT_PARTS = ("encoder", "preprocessor", "serving")


def _export_paths(root):
  return {"encoder": os.path.join(root, "encoder"),
          "preprocessor": os.path.join(root, "preprocessor"),
          "serving": os.path.join(root, "serving", "1")}


def source_dir(name):
  """Where cli_export(name) copies its inputs from (deleted afterwards)."""
  return os.path.join(work_dir(), f"sources_{name}")


@functools.cache
def cli_export(name):
  """`python -m tfhub_export.export --export_type=all` of the fixture.

  The config, checkpoint and tokenizer are copied to source_dir(name) first
  and that directory is deleted once the export is written: every test that
  uses this export also shows that it does not need its sources.

  Returns:
    (paths as in exports(), the CompletedProcess of the command).
  """
  root = os.path.join(work_dir(), f"cli_export_{name}")
  if os.environ.get(KEEP_DIR_VARIABLE) and os.path.isdir(root):
    return _export_paths(root), None
  sources = source_dir(name)
  os.makedirs(sources, exist_ok=True)
  for f in os.listdir(ref.model_dir(name)):
    if f.startswith(("model.ckpt", "checkpoint", "albert_config")):
      shutil.copy(os.path.join(ref.model_dir(name), f), sources)
  tokenizer = shutil.copy(tokenizer_file(name), sources)
  flag = "--vocab_file" if name.startswith("zh") else "--spm_model_file"
  from cli_helpers import run_module  # pylint: disable=g-import-not-at-top
  result = run_module(
      "tfhub_export.export",
      f"--albert_config_file={os.path.join(sources, 'albert_config.json')}",
      f"--checkpoint={os.path.join(sources, 'model.ckpt')}",
      f"{flag}={tokenizer}", f"--export_path={root}", "--export_type=all",
      f"--seq_length={SEQ_LENGTH}")
  assert result.returncode == 0, result.stderr[-5000:]
  shutil.rmtree(sources)
  return _export_paths(root), result


@functools.cache
def exports(name):
  """{encoder, preprocessor, serving} paths of `--export_type=all`.

  google_tiny's is made by the command line (cli_export); zh_tiny's
  in-process by tfhub_export.export.export, the function the command runs.
  """
  if name == "google_tiny":
    return cli_export(name)[0]
  from tfhub_export import export  # pylint: disable=g-import-not-at-top
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  root = os.path.join(work_dir(), f"export_{name}")
  if os.environ.get(KEEP_DIR_VARIABLE) and os.path.isdir(root):
    return _export_paths(root)
  spec = export_utils.TokenizerSpec(**tokenizer_kwargs(name))
  paths = export.export(ref.config_path(name), ref.checkpoint_prefix(name),
                        spec, root, export_type="all",
                        seq_length=SEQ_LENGTH, log=lambda _: None)
  assert paths == list(_export_paths(root).values())
  return _export_paths(root)


@functools.cache
def keras_model(name):
  """The in-process AlbertPretrainer with the fixture's weights."""
  import albert_tf  # pylint: disable=g-import-not-at-top
  from albert_tf import checkpoints  # pylint: disable=g-import-not-at-top
  model = albert_tf.AlbertPretrainer(config(name))
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  return model


def fresh_env():
  """Environment of a process that sees neither albert_tf nor the tests."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  env.pop("PYTHONPATH", None)
  return env


# Prepended to every fresh-process script: albert_tf and tfhub_export are
# made unimportable, so the exports must stand on TensorFlow (and TF Text).
FRESH_PREAMBLE = """
import sys
for _blocked in ("albert_tf", "tfhub_export"):
  sys.modules[_blocked] = None
import numpy as np
import tensorflow as tf
import tensorflow_text  # Registers the TF Text ops the tokenizers use.
"""


def run_fresh(script, *args, timeout=300):
  """Runs FRESH_PREAMBLE + script in a new Python; returns stdout."""
  result = subprocess.run(
      [sys.executable, "-c", FRESH_PREAMBLE + script, *args],
      capture_output=True, text=True, env=fresh_env(), timeout=timeout,
      cwd=work_dir(), check=False)
  assert result.returncode == 0, result.stderr[-5000:]
  return result.stdout


def assert_close(actual, expected, what, tolerance=TOLERANCE):
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
  err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
  assert err <= tolerance, f"{what}: max |diff| {err:.3g} > {tolerance}"
