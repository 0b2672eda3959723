"""Every command-line tool refuses bad input as users are promised.

One table of cases per tool. Each case is a command line that must end in
exit status != 0, exactly one `error:` line naming the culprit (a flag, a
file, a config key), no traceback, and no file new or changed under the
watched folder, which holds every input of the cases and their output
locations (tests/cli_helpers.assert_refused).

The inputs are tiny and built once. Each tool is started once
(cli_helpers.ToolServer) and run once per case from there, so a case costs
its validation, not TensorFlow's start-up.
"""

import dataclasses
import json
import os
import shutil
from typing import Callable

import pytest

from cli_helpers import ToolServer
from cli_helpers import assert_refused
from cli_helpers import flag_list
import finetuning_data
import reference_data as ref
import run_pretraining_test
import squad_synthetic

IS_ROOT = os.geteuid() == 0
SEQ = run_pretraining_test.SEQ
PRED = run_pretraining_test.PRED


@dataclasses.dataclass(frozen=True)
class Case:
  """args(inputs, case_dir) → the command line; culprit(inputs, case_dir)
  (or a plain string) → what the error line must contain."""
  name: str
  args: Callable
  culprit: object
  # Unreadable/unwritable files are readable/writable for root.
  needs_permissions: bool = False


class Inputs:
  """The tiny inputs every case draws on, under `root`."""

  def __init__(self, root):
    self.root = root
    root.mkdir()
    self.config = finetuning_data.write_tiny_config(str(root / "config.json"))
    self.pretraining_config = str(root / "pretraining_config.json")
    with open(self.pretraining_config, "w") as f:
      json.dump(run_pretraining_test.TINY_CONFIG, f)
    self.records = str(root / "records" / "train-0.tfrecord")
    os.makedirs(os.path.dirname(self.records))
    run_pretraining_test.write_records(self.records, 16, seed=0)
    self.spm_model = ref.SPM_MODEL
    self.spm_vocab = ref.SPM_MODEL[:-len(".model")] + ".vocab"
    # A WordPiece vocabulary that fits the golden checkpoint (vocab_size
    # 120), so its cases get as far as reading the checkpoint.
    self.vocab = self._write("vocab.txt", "\n".join(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + [f"word{n}" for n in range(95)]).encode() + b"\n")
    self.corpus = str(root / "corpus.txt")
    with open(self.corpus, "w") as f:
      f.write("the first sentence of a document .\nand its second one .\n\n"
              "another document starts here .\nit ends here .\n")
    self.empty_corpus = self._write("empty.txt", b"")
    self.blank_corpus = self._write("blank.txt", b"  \n\t\n \n")
    # Broken config files.
    self.non_utf8_config = self._write(
        "non_utf8_config.json",
        json.dumps(finetuning_data.TINY_CONFIG).encode("utf-16"))
    self.invalid_json_config = self._write("invalid_config.json",
                                           b'{"hidden_size": 32,')
    self.misspelled_config = self._config_without(
        "misspelled_config.json", "num_hidden_layers", num_hidden_layer=2)
    self.no_hidden_size_config = self._config_without(
        "no_hidden_size_config.json", "hidden_size")
    self.swish_config = self._write("swish_config.json", json.dumps(dict(
        finetuning_data.TINY_CONFIG, hidden_act="swish")).encode())
    # Sizes no machine holds, and a depth that only costs compute.
    self.huge_vocab_config = self._write("huge_vocab_config.json", json.dumps(
        dict(finetuning_data.TINY_CONFIG, vocab_size=10**10)).encode())
    self.deep_config = self._write("deep_config.json", json.dumps(dict(
        finetuning_data.TINY_CONFIG, num_hidden_layers=10**9)).encode())
    # A Hugging Face directory whose spiece.model (4,000 pieces) is not the
    # model's (vocab_size 4,100): caught before its weights are read.
    self.hf_wrong_spiece_dir = str(root / "hf_wrong_spiece")
    os.makedirs(self.hf_wrong_spiece_dir)
    with open(os.path.join(self.hf_wrong_spiece_dir, "config.json"),
              "w") as f:
      json.dump(dict(finetuning_data.TINY_CONFIG, vocab_size=4100,
                     hidden_act="gelu_new", model_type="albert",
                     architectures=["AlbertForPreTraining"],
                     layer_norm_eps=1e-12), f)
    shutil.copy(ref.SPM_MODEL,
                os.path.join(self.hf_wrong_spiece_dir, "spiece.model"))
    # The golden TF1 checkpoint, and damaged copies of it.
    self.checkpoint_config = ref.config_path("google_tiny")
    self.checkpoint = self._copy_checkpoint("checkpoint_good")
    self.truncated_checkpoint = self._copy_checkpoint("checkpoint_truncated")
    data_file = self.truncated_checkpoint + ".data-00000-of-00001"
    with open(data_file, "r+b") as f:
      f.truncate(os.path.getsize(data_file) // 2)
    self.flipped_checkpoint = self._copy_checkpoint("checkpoint_flipped")
    data_file = self.flipped_checkpoint + ".data-00000-of-00001"
    with open(data_file, "r+b") as f:
      f.seek(os.path.getsize(data_file) // 2)
      byte = f.read(1)
      f.seek(-1, os.SEEK_CUR)
      f.write(bytes([byte[0] ^ 0xFF]))
    garbage = self._copy_checkpoint("checkpoint_garbage_state")
    self.garbage_state_dir = os.path.dirname(garbage)
    self.garbage_state_file = os.path.join(self.garbage_state_dir,
                                           "checkpoint")
    with open(self.garbage_state_file, "wb") as f:
      f.write(bytes(range(128, 256)) * 4)
    # Fine-tuning data.
    self.sst2_dir = finetuning_data.write_sst2(str(root / "sst2"),
                                               sizes=(8, 4, 4))
    self.conll_dir = finetuning_data.write_conll(str(root / "conll"),
                                                 sizes=(8, 4, 4))
    self.race_dir = str(root / "race")
    finetuning_data.write_race(self.race_dir, sizes=(8, 4, 4))
    self.squad_dir = str(root / "squad")
    os.makedirs(self.squad_dir)
    self.squad_train = squad_synthetic.write_squad_file(
        os.path.join(self.squad_dir, "train.json"),
        squad_synthetic.make_dataset(8, 1))
    self.squad_dev = squad_synthetic.write_squad_file(
        os.path.join(self.squad_dir, "dev.json"),
        squad_synthetic.make_dataset(4, 2))

  def _write(self, name, data):
    path = str(self.root / name)
    with open(path, "wb") as f:
      f.write(data)
    return path

  def _config_without(self, name, key, **extra):
    values = dict(finetuning_data.TINY_CONFIG, **extra)
    del values[key]
    return self._write(name, json.dumps(values).encode())

  def _copy_checkpoint(self, name):
    shutil.copytree(ref.model_dir("google_tiny"), self.root / name)
    return str(self.root / name / "model.ckpt")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
  root = tmp_path_factory.mktemp("bad_input")
  built = Inputs(root / "inputs")
  yield built
  # Give back write permission taken by the cases, so pytest can clean up.
  for directory, names, _ in os.walk(root):
    for name in names:
      os.chmod(os.path.join(directory, name), 0o755)


_servers = {}
# Modules a tool imports late, when it runs (its start-up stays fast).
PRELOAD = {
    "albert_tf.create_pretraining_data": (
        "albert_tf.pretraining_data.documents",
        "albert_tf.pretraining_data.generator",
        "albert_tf.pretraining_data.shard_files"),
}


@pytest.fixture(scope="module")
def server_for():
  """server_for(module): that tool's ToolServer (one at a time: the
  cases come tool by tool, and each server holds a TensorFlow)."""
  def get(module):
    if module not in _servers:
      for other in list(_servers):
        _servers.pop(other).close()
      _servers[module] = ToolServer(module, PRELOAD.get(module, ()))
    return _servers[module]
  yield get
  for module in list(_servers):
    _servers.pop(module).close()


# Output locations that cannot be written. Each returns the location; the
# case's error must name it.
def output_is_file(case_dir):
  path = os.path.join(case_dir, "taken")
  with open(path, "w") as f:
    f.write("a file, not a directory\n")
  return path


def output_under_file(case_dir):
  return os.path.join(output_is_file(case_dir), "out")


def output_read_only(case_dir):
  path = os.path.join(case_dir, "read_only")
  os.makedirs(path)
  os.chmod(path, 0o555)
  return path


def output_under_read_only(case_dir):
  return os.path.join(output_read_only(case_dir), "out")


def unreadable_copy(path, case_dir):
  copy = os.path.join(case_dir, "unreadable-" + os.path.basename(path))
  shutil.copy(path, copy)
  os.chmod(copy, 0)
  return copy


def unreadable_data_dir(data_dir, name, case_dir):
  """A copy of data_dir whose file `name` cannot be read."""
  copy = os.path.join(case_dir, "data")
  shutil.copytree(data_dir, copy)
  os.chmod(os.path.join(copy, name), 0)
  return copy


def incomplete_shard_set(inputs, case_dir):
  """The pattern of a 4-shard set of which 2 shards are there (the others
  still being written, or deleted)."""
  data = os.path.join(case_dir, "data")
  os.makedirs(data)
  for i in (0, 2):
    shutil.copy(inputs.records,
                os.path.join(data, f"train.tfrecord-{i:05d}-of-00004"))
  return os.path.join(data, "train.tfrecord*")


def other_task_output_dir(case_dir):
  """An output_dir a token-classification run made."""
  path = os.path.join(case_dir, "ner_out")
  os.makedirs(path)
  with open(os.path.join(path, "finetuning.manifest.json"), "w") as f:
    json.dump({"task_name": "ner", "labels": ["B-PER", "I-PER", "O"],
               "max_seq_length": 16, "albert_config": {}, "tokenizer": "x",
               "do_lower_case": True}, f)
  return path


def output_cases(flag, make_args):
  """The unwritable-output cases of a tool whose output flag is `flag`;
  make_args(inputs, case_dir, **{flag: location}) → the command line."""
  cases = []
  for name, make, permissions in (
      ("output_is_file", output_is_file, False),
      ("output_under_file", output_under_file, False),
      ("output_read_only", output_read_only, True),
      ("output_under_read_only", output_under_read_only, True)):
    def args(i, d, make=make, name=name):
      location = make(d)
      (d / "location").write_text(location)
      return make_args(i, d, **{flag: location})
    # A location under a file or a read-only folder: naming the folder
    # that blocks it is right too.
    blocker = (lambda i, d: os.path.dirname((d / "location").read_text())
               ) if "under" in name else (
                   lambda i, d: (d / "location").read_text())
    cases.append(Case(f"{flag}_{name.split('_', 1)[1]}", args, blocker,
                      needs_permissions=permissions))
  return cases


def config_cases(flag, make_args):
  """Broken config files given as `flag`."""
  return [
      Case(f"{flag}_non_utf8", lambda i, d: make_args(
          i, d, **{flag: i.non_utf8_config}), "non_utf8_config.json"),
      Case(f"{flag}_invalid_json", lambda i, d: make_args(
          i, d, **{flag: i.invalid_json_config}), "invalid_config.json"),
      Case(f"{flag}_misspelled_key", lambda i, d: make_args(
          i, d, **{flag: i.misspelled_config}), "num_hidden_layer"),
      Case(f"{flag}_missing_hidden_size", lambda i, d: make_args(
          i, d, **{flag: i.no_hidden_size_config}), "hidden_size"),
      Case(f"{flag}_missing_file", lambda i, d: make_args(
          i, d, **{flag: os.path.join(d, "absent.json")}), "absent.json"),
      Case(f"{flag}_unreadable", lambda i, d: make_args(
          i, d, **{flag: unreadable_copy(i.config, d)}),
           "unreadable-config.json", needs_permissions=True),
      # Refused before anything is allocated (was an allocator traceback,
      # or a hang building 1e9 layers).
      Case(f"{flag}_sizes_beyond_memory", lambda i, d: make_args(
          i, d, **{flag: i.huge_vocab_config}), "vocab_size"),
      Case(f"{flag}_absurd_layer_count", lambda i, d: make_args(
          i, d, **{flag: i.deep_config}), "num_hidden_layers"),
  ]


def checkpoint_cases(flag, make_args):
  """Damaged copies of the golden checkpoint given as `flag` (with the
  checkpoint's own config)."""
  return [
      Case(f"{flag}_truncated", lambda i, d: make_args(
          i, d, **{flag: i.truncated_checkpoint}), "checkpoint_truncated"),
      Case(f"{flag}_bit_flipped", lambda i, d: make_args(
          i, d, **{flag: i.flipped_checkpoint}), "checkpoint_flipped"),
      Case(f"{flag}_garbage_state_file", lambda i, d: make_args(
          i, d, **{flag: i.garbage_state_dir}), "checkpoint_garbage_state"),
      Case(f"{flag}_missing", lambda i, d: make_args(
          i, d, **{flag: os.path.join(d, "absent", "model.ckpt")}),
           "absent"),
      # Another user's checkpoint is not damaged: say "permission denied".
      Case(f"{flag}_unreadable", lambda i, d: make_args(
          i, d, **{flag: unreadable_checkpoint(i, d)}),
           lambda i, d: os.path.join(d, "checkpoint_unreadable",
                                     "model.ckpt.data-00000-of-00001")
           + ": permission denied", needs_permissions=True),
  ]


def unreadable_spm_culprit(i, case_dir):
  """Not "not a valid model": the file is fine, this user may not read it."""
  return (os.path.join(case_dir, "unreadable-" + os.path.basename(
      i.spm_model)) + " cannot be read: Permission denied")


def unreadable_checkpoint(i, case_dir):
  """A copy of the good checkpoint whose data file nobody but root may
  read (mode 0), as another user's 0600 file is to us."""
  directory = os.path.join(case_dir, "checkpoint_unreadable")
  shutil.copytree(os.path.dirname(i.checkpoint), directory)
  os.chmod(os.path.join(directory, "model.ckpt.data-00000-of-00001"), 0)
  return os.path.join(directory, "model.ckpt")


# --- run_pretraining ---------------------------------------------------------

def pretraining_args(i, d, **overrides):
  values = {"albert_config_file": i.pretraining_config,
            "input_file": i.records, "output_dir": d / "out",
            "do_train": True, "max_seq_length": SEQ,
            "max_predictions_per_seq": PRED, "train_batch_size": 4,
            "num_train_steps": 2, "num_warmup_steps": 0,
            "save_checkpoints_steps": 2, "iterations_per_loop": 1}
  values.update(overrides)
  return flag_list(values)


PRETRAINING = [
    Case("missing_required_flags", lambda i, d: [], "--albert_config_file"),
    *output_cases("output_dir", pretraining_args),
    *config_cases("albert_config_file", pretraining_args),
    Case("input_file_matches_nothing", lambda i, d: pretraining_args(
        i, d, input_file=d / "none-*"), "--input_file"),
    Case("input_file_unreadable", lambda i, d: pretraining_args(
        i, d, input_file=unreadable_copy(i.records, d)),
         "unreadable-train-0.tfrecord", needs_permissions=True),
    Case("input_file_not_records", lambda i, d: pretraining_args(
        i, d, input_file=i.corpus), "corpus.txt"),
    *checkpoint_cases("init_checkpoint", lambda i, d, **flags: pretraining_args(
        i, d, albert_config_file=i.checkpoint_config, **flags)),
    Case("learning_rate_negative", lambda i, d: pretraining_args(
        i, d, learning_rate=-0.01), "--learning_rate"),
    Case("learning_rate_zero", lambda i, d: pretraining_args(
        i, d, learning_rate=0), "--learning_rate"),
    Case("max_seq_length_not_the_records", lambda i, d: pretraining_args(
        i, d, max_seq_length=48), "--max_seq_length"),
    Case("max_seq_length_above_positions", lambda i, d: pretraining_args(
        i, d, max_seq_length=128), "max_position_embeddings"),
    Case("train_batch_size_zero", lambda i, d: pretraining_args(
        i, d, train_batch_size=0), "--train_batch_size"),
    Case("dynamic_masking_wrong_vocab", lambda i, d: pretraining_args(
        i, d, dynamic_masking=True, vocab_file=ref.ZH_VOCAB), "[CLS]"),
    Case("sentencepiece_vocab_as_vocab_file", lambda i, d: pretraining_args(
        i, d, dynamic_masking=True, vocab_file=i.spm_vocab),
         "tiny-clean.vocab"),
    Case("optimizer_not_a_choice", lambda i, d: pretraining_args(
        i, d, optimizer="sgd"), "--optimizer"),
    Case("unknown_flag", lambda i, d: pretraining_args(
        i, d, num_train_step=2), "num_train_step"),
    Case("eval_input_file_matches_nothing", lambda i, d: pretraining_args(
        i, d, do_eval=True, eval_input_file=d / "none-*"),
         "--eval_input_file"),
    Case("eval_without_checkpoint", lambda i, d: pretraining_args(
        i, d, do_train=False, do_eval=True), "--init_checkpoint"),
    Case("max_predictions_not_the_records", lambda i, d: pretraining_args(
        i, d, max_predictions_per_seq=PRED - 1), "--max_predictions_per_seq"),
    Case("init_checkpoint_does_not_fit", lambda i, d: pretraining_args(
        i, d, init_checkpoint=i.checkpoint), "checkpoint_good"),
    Case("init_checkpoint_not_a_checkpoint", lambda i, d: pretraining_args(
        i, d, init_checkpoint=i.corpus), "corpus.txt"),
    Case("batch_not_divisible_by_accumulation", lambda i, d: pretraining_args(
        i, d, gradient_accumulation_steps=3), "--gradient_accumulation_steps"),
    Case("dynamic_masking_without_vocabulary", lambda i, d: pretraining_args(
        i, d, dynamic_masking=True), "--dynamic_masking"),
    Case("dynamic_masking_prob_above_one", lambda i, d: pretraining_args(
        i, d, dynamic_masking=True, spm_model_file=i.spm_model,
        masked_lm_prob=2), "--masked_lm_prob"),
    Case("tpu_without_a_tpu", lambda i, d: pretraining_args(
        i, d, distribution_strategy="tpu"), "--distribution_strategy"),
    Case("not_a_number", lambda i, d: pretraining_args(
        i, d, train_batch_size="four"), "--train_batch_size"),
    Case("input_file_incomplete_shard_set", lambda i, d: pretraining_args(
        i, d, input_file=incomplete_shard_set(i, d)), "2 of the 4 shards"),
    Case("poly_power_negative", lambda i, d: pretraining_args(
        i, d, poly_power=-1), "--poly_power"),
    Case("poly_power_zero", lambda i, d: pretraining_args(
        i, d, poly_power=0), "--poly_power"),
    # The example TPU flagfiles, run as written (placeholders and all).
    *[Case(f"tpu_flagfile_{size}_as_written", lambda i, d, size=size: [
        f"--flagfile=run_scripts/pretrain_{size}_tpu.flags"], "YOUR_BUCKET")
      for size in ("base", "large", "xlarge", "xxlarge")],
    # Filled in, but no Cloud TPU (nor its metadata server) is reachable.
    Case("tpu_name_not_found", lambda i, d: [
        "--flagfile=run_scripts/pretrain_base_tpu.flags",
        "--tpu_name=my-tpu", f"--input_file={i.records}",
        f"--output_dir={d / 'out'}"], "--tpu_name=my-tpu"),
    Case("input_file_on_unreachable_gcs", lambda i, d: pretraining_args(
        i, d, input_file="gs://albert-tf-no-such-bucket/train-*"),
         "gs://albert-tf-no-such-bucket"),
    Case("hf_directory_spiece_does_not_fit", lambda i, d: pretraining_args(
        i, d, albert_config_file=None, init_checkpoint=i.hf_wrong_spiece_dir),
         "spiece.model"),
]


# --- create_pretraining_data -------------------------------------------------

def data_args(i, d, **overrides):
  values = {"input_file": i.corpus, "output_file": d / "out.tfrecord",
            "spm_model_file": i.spm_model, "max_seq_length": SEQ,
            "max_predictions_per_seq": PRED, "dupe_factor": 1}
  values.update(overrides)
  return flag_list(values)


DATA_GENERATION = [
    Case("missing_required_flags", lambda i, d: [], "--input_file"),
    Case("empty_corpus", lambda i, d: data_args(
        i, d, input_file=i.empty_corpus), "empty.txt"),
    Case("whitespace_corpus", lambda i, d: data_args(
        i, d, input_file=i.blank_corpus), "blank.txt"),
    Case("input_matches_nothing", lambda i, d: data_args(
        i, d, input_file=d / "none-*.txt"), "none-*.txt"),
    Case("zh_whole_word_mask_with_sentencepiece", lambda i, d: data_args(
        i, d, zh_whole_word_mask=True), "--zh_whole_word_mask"),
    Case("input_unreadable", lambda i, d: data_args(
        i, d, input_file=unreadable_copy(i.corpus, d)),
         "unreadable-corpus.txt", needs_permissions=True),
    Case("output_file_is_directory", lambda i, d: data_args(
        i, d, output_file=d), "--output_file"),
    Case("output_under_file", lambda i, d: data_args(
        i, d, output_file=os.path.join(output_is_file(d), "out.tfrecord")),
         "taken"),
    Case("output_under_read_only", lambda i, d: data_args(
        i, d, output_file=os.path.join(output_read_only(d), "x.tfrecord")),
         "read_only", needs_permissions=True),
    Case("max_predictions_above_max_seq_length", lambda i, d: data_args(
        i, d, max_predictions_per_seq=SEQ + 1), "--max_predictions_per_seq"),
    Case("sentencepiece_vocab_as_vocab_file", lambda i, d: data_args(
        i, d, spm_model_file=None, vocab_file=i.spm_vocab),
         "tiny-clean.vocab"),
    Case("no_tokenizer", lambda i, d: data_args(i, d, spm_model_file=None),
         "--vocab_file"),
    Case("spm_model_not_a_model", lambda i, d: data_args(
        i, d, spm_model_file=i.corpus), "corpus.txt"),
    Case("spm_model_unreadable", lambda i, d: data_args(
        i, d, spm_model_file=unreadable_copy(i.spm_model, d)),
         unreadable_spm_culprit, needs_permissions=True),
    Case("masked_lm_prob_above_one", lambda i, d: data_args(
        i, d, masked_lm_prob=1.5), "--masked_lm_prob"),
    Case("max_seq_length_zero", lambda i, d: data_args(
        i, d, max_seq_length=0), "--max_seq_length"),
    Case("input_is_a_directory", lambda i, d: data_args(
        i, d, input_file=d), "--input_file"),
    Case("vocab_file_not_a_vocabulary", lambda i, d: data_args(
        i, d, spm_model_file=None, vocab_file=i.corpus), "corpus.txt"),
    Case("dupe_factor_zero", lambda i, d: data_args(i, d, dupe_factor=0),
         "--dupe_factor"),
    Case("short_seq_prob_above_one", lambda i, d: data_args(
        i, d, short_seq_prob=2), "--short_seq_prob"),
    Case("not_a_number", lambda i, d: data_args(i, d, max_seq_length="abc"),
         "--max_seq_length"),
    # Refused before the manifest claims the output.
    Case("num_workers_zero", lambda i, d: data_args(i, d, num_workers=0),
         "--num_workers"),
    Case("output_shards_zero", lambda i, d: data_args(i, d, output_shards=0),
         "--output_shards"),
]


# --- train_sentencepiece ----------------------------------------------------

def sentencepiece_args(i, d, **overrides):
  values = {"input": i.corpus, "model_prefix": d / "out" / "spm",
            "vocab_size": 40, "num_threads": 1}
  values.update(overrides)
  return flag_list(values)


SENTENCEPIECE = [
    Case("missing_required_flags", lambda i, d: [], "--input"),
    Case("empty_corpus", lambda i, d: sentencepiece_args(
        i, d, input=i.empty_corpus), "empty.txt"),
    Case("whitespace_corpus", lambda i, d: sentencepiece_args(
        i, d, input=i.blank_corpus), "blank.txt"),
    Case("input_missing", lambda i, d: sentencepiece_args(
        i, d, input=d / "absent.txt"), "absent.txt"),
    Case("input_unreadable", lambda i, d: sentencepiece_args(
        i, d, input=unreadable_copy(i.corpus, d)), "unreadable-corpus.txt",
         needs_permissions=True),
    Case("model_prefix_under_file", lambda i, d: sentencepiece_args(
        i, d, model_prefix=os.path.join(output_is_file(d), "spm")), "taken"),
    Case("model_prefix_under_read_only", lambda i, d: sentencepiece_args(
        i, d, model_prefix=os.path.join(output_read_only(d), "spm")),
         "read_only", needs_permissions=True),
    Case("vocab_size_zero", lambda i, d: sentencepiece_args(
        i, d, vocab_size=0), "--vocab_size"),
    Case("vocab_size_too_large_for_corpus", lambda i, d: sentencepiece_args(
        i, d, vocab_size=5000), "--vocab_size"),
    Case("model_prefix_is_directory", lambda i, d: sentencepiece_args(
        i, d, model_prefix=d), "--model_prefix"),
    Case("input_is_a_directory", lambda i, d: sentencepiece_args(
        i, d, input=d), "--input"),
    Case("input_not_text", lambda i, d: sentencepiece_args(
        i, d, input=i.spm_model), "tiny-clean.model"),
    Case("character_coverage_zero", lambda i, d: sentencepiece_args(
        i, d, character_coverage=0), "--character_coverage"),
]


# --- fine-tuning tools ------------------------------------------------------

def finetuning_values(i, d):
  return {"albert_config_file": i.config, "spm_model_file": i.spm_model,
          "output_dir": d / "out", "do_train": True, "train_batch_size": 2,
          "train_step": 1, "warmup_step": 0, "save_checkpoints_steps": 1,
          "iterations_per_loop": 1, "max_seq_length": 32}


def classifier_args(i, d, **overrides):
  values = dict(finetuning_values(i, d), task_name="sst-2",
                data_dir=i.sst2_dir)
  values.update(overrides)
  return flag_list(values)


def token_classification_args(i, d, **overrides):
  values = dict(finetuning_values(i, d), data_dir=i.conll_dir)
  values.update(overrides)
  return flag_list(values)


def race_args(i, d, **overrides):
  values = dict(finetuning_values(i, d), data_dir=i.race_dir,
                max_seq_length=64, max_qa_length=16)
  values.update(overrides)
  return flag_list(values)


def squad_args(i, d, **overrides):
  values = dict(finetuning_values(i, d), train_file=i.squad_train,
                predict_file=i.squad_dev, max_seq_length=64,
                doc_stride=16, max_query_length=8)
  values.update(overrides)
  return flag_list(values)


def finetuning_cases(make_args):
  """What every fine-tuning tool refuses alike."""
  return [
      Case("no_action", lambda i, d: make_args(i, d, do_train=False),
           "--do_train"),
      *output_cases("output_dir", make_args),
      Case("output_dir_of_another_task", lambda i, d: make_args(
          i, d, output_dir=other_task_output_dir(d)), "ner_out"),
      *config_cases("albert_config_file", make_args),
      *checkpoint_cases("init_checkpoint", lambda i, d, **flags: make_args(
          i, d, albert_config_file=i.checkpoint_config, spm_model_file=None,
          vocab_file=i.vocab, max_seq_length=32, **flags)),
      Case("sentencepiece_vocab_as_vocab_file", lambda i, d: make_args(
          i, d, spm_model_file=None, vocab_file=i.spm_vocab),
           "tiny-clean.vocab"),
      Case("spm_model_missing", lambda i, d: make_args(
          i, d, spm_model_file=d / "absent.model"), "absent.model"),
      Case("spm_model_unreadable", lambda i, d: make_args(
          i, d, spm_model_file=unreadable_copy(i.spm_model, d)),
           unreadable_spm_culprit, needs_permissions=True),
      Case("learning_rate_negative", lambda i, d: make_args(
          i, d, learning_rate=-0.01), "--learning_rate"),
      Case("max_seq_length_above_positions", lambda i, d: make_args(
          i, d, max_seq_length=128), "max_position_embeddings"),
      Case("optimizer_not_a_choice", lambda i, d: make_args(
          i, d, optimizer="sgd"), "--optimizer"),
      Case("unexpected_argument", lambda i, d: make_args(i, d) + ["extra"],
           "extra"),
      Case("eval_without_checkpoint", lambda i, d: make_args(
          i, d, do_train=False, do_eval=True), "--do_train"),
      Case("predict_without_checkpoint", lambda i, d: make_args(
          i, d, do_train=False, do_predict=True), "--do_train"),
      Case("export_without_checkpoint", lambda i, d: make_args(
          i, d, do_train=False, export_dir=d / "export"), "--do_train"),
      Case("max_seq_length_below_three", lambda i, d: make_args(
          i, d, max_seq_length=2), "--max_seq_length"),
      Case("warmup_not_below_train_step", lambda i, d: make_args(
          i, d, warmup_step=1), "--warmup_step"),
      Case("gradient_accumulation_zero", lambda i, d: make_args(
          i, d, gradient_accumulation_steps=0),
           "--gradient_accumulation_steps"),
      Case("more_replicas_than_batch", lambda i, d: make_args(
          i, d, distribution_strategy="mirrored", num_gpus=4),
           "--train_batch_size"),
      Case("tpu_without_a_tpu", lambda i, d: make_args(
          i, d, distribution_strategy="tpu"), "--distribution_strategy"),
      Case("init_checkpoint_not_a_checkpoint", lambda i, d: make_args(
          i, d, init_checkpoint=i.config), "config.json"),
      Case("spm_model_not_a_model", lambda i, d: make_args(
          i, d, spm_model_file=i.corpus), "corpus.txt"),
  ]


CLASSIFIER = [
    Case("missing_required_flags", lambda i, d: [], "--task_name"),
    *finetuning_cases(classifier_args),
    Case("task_name_unknown", lambda i, d: classifier_args(
        i, d, task_name="sst3"), "--task_name"),
    Case("data_dir_missing", lambda i, d: classifier_args(
        i, d, data_dir=d / "absent"), "absent"),
    Case("train_file_unreadable", lambda i, d: classifier_args(
        i, d, data_dir=unreadable_data_dir(i.sst2_dir, "train.tsv", d)),
         "train.tsv", needs_permissions=True),
    Case("a_single_label", lambda i, d: classifier_args(
        i, d, task_name="csv", labels="a"), "2 labels"),
    Case("hf_directory_spiece_does_not_fit", lambda i, d: classifier_args(
        i, d, albert_config_file=None, spm_model_file=None,
        init_checkpoint=i.hf_wrong_spiece_dir), "spiece.model"),
]

TOKEN_CLASSIFICATION = [
    Case("missing_required_flags", lambda i, d: [], "--do_train"),
    *finetuning_cases(token_classification_args),
    Case("data_dir_missing", lambda i, d: token_classification_args(
        i, d, data_dir=d / "absent"), "absent"),
]

RACE = [
    Case("missing_required_flags", lambda i, d: [], "--do_train"),
    *finetuning_cases(race_args),
    Case("data_dir_missing", lambda i, d: race_args(
        i, d, data_dir=d / "absent"), "absent"),
    Case("num_choices_zero", lambda i, d: race_args(i, d, num_choices=0),
         "--num_choices"),
]

SQUAD = [
    Case("missing_required_flags", lambda i, d: [], "--do_train"),
    *finetuning_cases(squad_args),
    Case("train_file_missing", lambda i, d: squad_args(
        i, d, train_file=d / "absent.json"), "absent.json"),
    Case("train_file_unreadable", lambda i, d: squad_args(
        i, d, train_file=unreadable_copy(i.squad_train, d)),
         "unreadable-train.json", needs_permissions=True),
    Case("train_file_not_json", lambda i, d: squad_args(
        i, d, train_file=i.corpus), "corpus.txt"),
    Case("doc_stride_zero", lambda i, d: squad_args(i, d, doc_stride=0),
         "--doc_stride"),
    Case("max_query_length_above_max_seq_length", lambda i, d: squad_args(
        i, d, max_query_length=80), "--max_query_length"),
]


# --- convert_checkpoint -----------------------------------------------------

def convert_args(i, d, **overrides):
  values = {"albert_config_file": i.checkpoint_config, "input": i.checkpoint,
            "output": d / "out" / "model.ckpt",
            "direction": "tf1_to_tf2"}
  values.update(overrides)
  return flag_list(values)


CONVERT = [
    Case("missing_required_flags", lambda i, d: [], "--albert_config_file"),
    *config_cases("albert_config_file", convert_args),
    *checkpoint_cases("input", convert_args),
    Case("output_under_file", lambda i, d: convert_args(
        i, d, output=os.path.join(output_is_file(d), "model.ckpt")),
         "taken"),
    Case("output_under_read_only", lambda i, d: convert_args(
        i, d, output=os.path.join(output_read_only(d), "model.ckpt")),
         "read_only", needs_permissions=True),
    Case("config_does_not_fit", lambda i, d: convert_args(
        i, d, albert_config_file=i.config), "config.json"),
    Case("direction_not_a_choice", lambda i, d: convert_args(
        i, d, direction="up"), "--direction"),
    Case("output_is_directory", lambda i, d: convert_args(i, d, output=d),
         "--output"),
    Case("input_not_a_checkpoint", lambda i, d: convert_args(
        i, d, input=i.corpus), "corpus.txt"),
    Case("direction_and_output_format", lambda i, d: convert_args(
        i, d, output_format="tf2"), "--direction"),
    Case("hf_overwrite_not_ours", lambda i, d: convert_args(
        i, d, direction=None, output_format="hf", output=i.sst2_dir,
        overwrite=True), "not an output of albert_tf"),
]


def export_not_removable(case_dir):
  """An export of ours (it has the marker) with a folder this user may not
  empty, as in another user's export."""
  path = os.path.join(case_dir, "export")
  os.makedirs(os.path.join(path, "variables"))
  with open(os.path.join(path, ".albert_tf_output"), "w") as f:
    f.write("albert_tf\n")
  os.chmod(os.path.join(path, "variables"), 0o555)
  return path


# --- describe ---------------------------------------------------------------

def describe_args(i, d, **overrides):
  values = {"albert_config_file": i.config}
  values.update(overrides)
  return flag_list(values)


DESCRIBE = [
    Case("missing_required_flags", lambda i, d: [], "--albert_config_file"),
    *config_cases("albert_config_file", describe_args),
    Case("seq_length_zero", lambda i, d: describe_args(i, d, seq_length=0),
         "--seq_length"),
    Case("preset_unknown", lambda i, d: describe_args(
        i, d, albert_config_file=None, preset="albert_huge"), "albert_huge"),
    Case("preset_and_config_file", lambda i, d: describe_args(
        i, d, preset="albert_base_v2"), "--preset"),
    Case("config_value_out_of_range", lambda i, d: describe_args(
        i, d, albert_config_file=i.swish_config), "hidden_act"),
    Case("not_a_number", lambda i, d: describe_args(i, d, seq_length="long"),
         "--seq_length"),
    Case("seq_length_above_positions", lambda i, d: describe_args(
        i, d, albert_config_file=None, preset="albert_base_v2",
        seq_length=513), "--seq_length"),
]


# --- quickstart -------------------------------------------------------------

def quickstart_args(i, d, **overrides):
  values = {"output_dir": d / "out", "num_train_steps": 2,
            "finetune_steps": 1}
  values.update(overrides)
  return flag_list(values)


QUICKSTART = [
    Case("num_train_steps_zero", lambda i, d: quickstart_args(
        i, d, num_train_steps=0), "--num_train_steps"),
    Case("finetune_steps_zero", lambda i, d: quickstart_args(
        i, d, finetune_steps=0), "--finetune_steps"),
    Case("vocab_size_zero", lambda i, d: quickstart_args(
        i, d, vocab_size=0), "--vocab_size"),
    Case("dupe_factor_zero", lambda i, d: quickstart_args(
        i, d, dupe_factor=0), "--dupe_factor"),
    *output_cases("output_dir", quickstart_args),
]


# --- tfhub_export.export ----------------------------------------------------

def export_args(i, d, **overrides):
  values = {"albert_config_file": i.checkpoint_config,
            "checkpoint": i.checkpoint, "vocab_file": i.vocab,
            "export_path": d / "out", "export_type": "encoder",
            "seq_length": 16}
  values.update(overrides)
  return flag_list(values)


EXPORT = [
    Case("missing_required_flags", lambda i, d: [], "--albert_config_file"),
    *config_cases("albert_config_file", export_args),
    *checkpoint_cases("checkpoint", export_args),
    Case("seq_length_above_positions_preprocessor", lambda i, d: export_args(
        i, d, export_type="preprocessor", seq_length=128), "--seq_length"),
    Case("seq_length_above_positions_serving", lambda i, d: export_args(
        i, d, export_type="serving", seq_length=128), "--seq_length"),
    Case("seq_length_above_positions_all", lambda i, d: export_args(
        i, d, export_type="all", seq_length=128), "--seq_length"),
    Case("export_path_exists", lambda i, d: export_args(
        i, d, export_path=i.sst2_dir), "--overwrite"),
    # --overwrite replaces only an export of ours, never a user's folder.
    Case("overwrite_not_an_export", lambda i, d: export_args(
        i, d, export_path=i.sst2_dir, overwrite=True),
         "not an output of albert_tf"),
    Case("overwrite_export_not_removable", lambda i, d: export_args(
        i, d, export_path=export_not_removable(d), overwrite=True),
         "is not writable", needs_permissions=True),
    Case("checkpoint_does_not_fit", lambda i, d: export_args(
        i, d, albert_config_file=i.config), "checkpoint_good"),
    Case("vocab_file_not_a_vocabulary", lambda i, d: export_args(
        i, d, export_type="preprocessor", vocab_file=i.corpus), "corpus.txt"),
    Case("export_type_not_a_choice", lambda i, d: export_args(
        i, d, export_type="onnx"), "--export_type"),
    Case("export_precision_not_a_choice", lambda i, d: export_args(
        i, d, export_precision="float16"), "--export_precision"),
    Case("export_precision_bfloat16_for_tflite", lambda i, d: export_args(
        i, d, export_type="tflite", export_precision="bfloat16"),
         "--export_precision=bfloat16 does not apply to --export_type=tflite"),
    Case("sentencepiece_vocab_as_vocab_file", lambda i, d: export_args(
        i, d, export_type="preprocessor", vocab_file=i.spm_vocab),
         "tiny-clean.vocab"),
    *output_cases("export_path", export_args),
    Case("hf_directory_spiece_does_not_fit", lambda i, d: export_args(
        i, d, albert_config_file=None, vocab_file=None,
        checkpoint=i.hf_wrong_spiece_dir), "spiece.model"),
]


TOOLS = {
    "albert_tf.run_pretraining": PRETRAINING,
    "albert_tf.create_pretraining_data": DATA_GENERATION,
    "albert_tf.train_sentencepiece": SENTENCEPIECE,
    "albert_tf.run_classifier": CLASSIFIER,
    "albert_tf.run_token_classification": TOKEN_CLASSIFICATION,
    "albert_tf.run_race": RACE,
    "albert_tf.run_squad": SQUAD,
    "albert_tf.convert_checkpoint": CONVERT,
    "albert_tf.describe": DESCRIBE,
    "albert_tf.quickstart": QUICKSTART,
    "tfhub_export.export": EXPORT,
}


@pytest.mark.parametrize("module,case", [
    pytest.param(module, case, id=f"{module.split('.')[-1]}-{case.name}",
                 marks=[pytest.mark.permissions] if case.needs_permissions
                 else [])
    for module, cases in TOOLS.items() for case in cases])
def test_bad_input_is_refused(module, case, inputs, server_for):
  if case.needs_permissions and IS_ROOT:
    pytest.skip("file permissions do not apply to root")
  case_dir = inputs.root.parent / module.split(".")[-1] / case.name
  case_dir.mkdir(parents=True)
  args = [str(arg) for arg in case.args(inputs, case_dir)]
  culprit = case.culprit
  if callable(culprit):
    culprit = culprit(inputs, case_dir)
  # Everything the cases read and write lies below the parent of inputs.
  assert_refused(module, args, str(culprit), inputs.root.parent,
                 runner=server_for(module).run, timeout=120)


def test_every_case_name_is_unique_per_tool():
  for module, cases in TOOLS.items():
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), module
