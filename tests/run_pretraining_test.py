"""run_pretraining: training, strategies, resume, init and bad input."""

import json
import os
import random
import shutil
import socket
import subprocess
import sys

from absl import flags
import numpy as np
import pytest
import tensorflow as tf

from albert_tf import files
from albert_tf import run_pretraining
from albert_tf.cli import flag_table
from albert_tf.training import pretraining_job
from albert_tf.training import pretraining_settings
from albert_tf.training.pretraining_trainer import NothingEvaluatedError
from albert_tf.training.pretraining_trainer import TrainingDivergedError
from cli_helpers import flag_list
from cli_helpers import run_module
import fault_injection as fi
from reference_data import PROJECT_ROOT
import reference_data as ref

SEQ = 32
PRED = 5
# Dropout 0 (as in every v2 config): runs on other numbers of replicas then
# follow the same trajectory (with dropout each replica draws its own masks).
TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.0, "embedding_size": 16,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 32,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 64,
    "max_position_embeddings": 64, "num_attention_heads": 4,
    "num_hidden_groups": 1, "num_hidden_layers": 2, "type_vocab_size": 2,
    "vocab_size": 120}


def _ints(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def write_records(path, count, seed, seq=SEQ, pred=PRED, vocab=120):
  """Learnable records: runs of consecutive ids from a narrow range."""
  rng = np.random.default_rng(seed)
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(count):
      start = int(rng.integers(5, 15))
      ids = (np.arange(start, start + seq) % (vocab - 5)) + 5
      ids[0], ids[seq // 2], ids[-1] = 2, 3, 3
      positions = np.sort(rng.choice(np.arange(1, seq - 1), pred, False))
      labels = ids[positions].copy()
      ids[positions] = 4
      order = int(rng.integers(0, 2))
      feature = {
          "input_ids": _ints(ids), "input_mask": _ints([1] * seq),
          "segment_ids": _ints([0] * (seq // 2 + 1) + [1] * (seq // 2 - 1)),
          "token_boundary": _ints([1] * seq),
          "masked_lm_positions": _ints(positions),
          "masked_lm_ids": _ints(labels),
          "masked_lm_weights": tf.train.Feature(
              float_list=tf.train.FloatList(value=[1.0] * pred)),
          "next_sentence_labels": _ints([order])}
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  root = tmp_path_factory.mktemp("pretraining")
  for shard in range(2):
    write_records(str(root / f"train-{shard}.tfrecord"), 96, seed=shard)
  # 36: 4 batches of 8 and a partial one, which on 2 replicas is 4 examples
  # on the first and none on the second.
  write_records(str(root / "eval.tfrecord"), 36, seed=7)
  config = root / "albert_config.json"
  config.write_text(json.dumps(TINY_CONFIG))
  (root / DROPOUT_CONFIG).write_text(json.dumps(dict(
      TINY_CONFIG, hidden_dropout_prob=0.1,
      attention_probs_dropout_prob=0.1)))
  return root


def flag_args(data, output_dir, **overrides):
  args = {"albert_config_file": data / "albert_config.json",
          "input_file": data / "train-*",
          "eval_input_file": data / "eval.tfrecord",
          "output_dir": output_dir, "do_train": True,
          "max_seq_length": SEQ, "max_predictions_per_seq": PRED,
          "train_batch_size": 8, "eval_batch_size": 8,
          "learning_rate": 0.05, "num_train_steps": 30,
          "num_warmup_steps": 3, "save_checkpoints_steps": 10,
          "iterations_per_loop": 5, "max_eval_steps": 5, "seed": 3}
  args.update(overrides)
  return flag_list(args)


def parse(args):
  values = flags.FlagValues()
  run_pretraining.define_flags(values)
  values(["run_pretraining", *args])
  return flag_table.settings_from_flags(run_pretraining.PretrainingSettings,
                                        values)


def train_in_process(data, output_dir, **overrides):
  lines = []
  result = run_pretraining.run(parse(flag_args(data, output_dir, **overrides)),
                               print_fn=lines.append)
  return result, lines


def step_losses(lines):
  return [float(line.split("| loss ")[1].split()[0])
          for line in lines if line.startswith("step ")]


def final_weights(output_dir):
  prefix = tf.train.latest_checkpoint(os.path.join(output_dir, "tf1"))
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if name != "global_step"}


@pytest.fixture(scope="module")
def baseline(data, tmp_path_factory):
  """One uninterrupted single-device run, shared by the comparisons."""
  output_dir = tmp_path_factory.mktemp("baseline")
  (train_output, best), lines = train_in_process(data, output_dir,
                                                 do_eval=True)
  return output_dir, train_output, best, lines


def test_training_reduces_the_loss_and_writes_everything(baseline):
  output_dir, train_output, best, lines = baseline
  losses = step_losses(lines)
  assert len(losses) == 6
  assert losses[-1] < losses[0] - 0.5, losses
  # The rate of the last step (step 29 of 30): poly decay 0.05 * (1 - 29/30).
  assert train_output["learning_rate"] == pytest.approx(0.05 / 30, rel=1e-4)
  assert any("ETA" in line and "examples/s" in line for line in lines)
  names = os.listdir(output_dir)
  assert {"model.ckpt-30.index", "model.ckpt-best.index", "eval_results.txt",
          "best_checkpoint.json", "albert_config.json"} <= set(names)
  results = (output_dir / "eval_results.txt").read_text()
  for key in ("masked_lm_accuracy", "masked_lm_loss",
              "sentence_order_accuracy", "sentence_order_loss",
              "global_step = 30"):
    assert key in results
  assert best["metric"] == "masked_lm_accuracy"
  # The best and final checkpoints carry the original names.
  weights = final_weights(output_dir)
  assert "bert/embeddings/word_embeddings" in weights
  assert "cls/predictions/output_bias" in weights
  best_reader = tf.train.load_checkpoint(str(output_dir / "model.ckpt-best"))
  assert "bert/pooler/dense/kernel" in best_reader.get_variable_to_shape_map()
  events = tf.io.gfile.glob(str(output_dir / "summaries" / "train" / "*"))
  assert events, "no TensorBoard summaries"
  tags = set()
  for event in tf.compat.v1.train.summary_iterator(events[0]):
    tags.update(value.tag for value in event.summary.value)
  assert {"total_loss", "masked_lm_accuracy", "learning_rate",
          "examples_per_second"} <= tags


# TINY_CONFIG with dropout 0.1, as in the v1 configs.
DROPOUT_CONFIG = "albert_config_dropout.json"
# The resumed runs: dropout on, recomputation, two micro-batches per step.
DROPOUT_RUN = dict(recompute_activations="block",
                   gradient_accumulation_steps=2)


@pytest.fixture(scope="module")
def dropout_baseline(data, tmp_path_factory):
  """An uninterrupted run with dropout (DROPOUT_CONFIG, DROPOUT_RUN)."""
  output_dir = tmp_path_factory.mktemp("dropout_baseline")
  train_in_process(data, output_dir, do_eval=True,
                   albert_config_file=data / DROPOUT_CONFIG, **DROPOUT_RUN)
  return output_dir


def last_eval_results(output_dir):
  """{key: value} of the last block of output_dir/eval_results.txt."""
  block = (output_dir / "eval_results.txt").read_text().split("*****\n")[-1]
  return {key: float(value) for key, value in
          (line.split(" = ") for line in block.splitlines())}


def _subprocess_env(**extra):
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
              PYTHONPATH=PROJECT_ROOT, **extra)


def test_mirrored_two_devices_matches_one_device(baseline, data, tmp_path):
  output_dir, _, _, lines = baseline
  result = run_module("albert_tf.run_pretraining",
                      *flag_args(data, tmp_path / "mirrored", do_eval=True,
                                 distribution_strategy="mirrored",
                                 num_cpu_devices=2))
  assert result.returncode == 0, result.stderr
  mirrored = step_losses(result.stdout.splitlines())
  np.testing.assert_allclose(mirrored, step_losses(lines), atol=2e-4)
  for name, value in final_weights(output_dir).items():
    np.testing.assert_allclose(final_weights(tmp_path / "mirrored")[name],
                               value, atol=2e-4, err_msg=name)
  # Every eval example counted once (the last step's partial batch is all
  # on the first replica). `loss` is a mean over the replicas' batches, of
  # another size on 2 replicas: not comparable.
  expected = last_eval_results(output_dir)
  got = last_eval_results(tmp_path / "mirrored")
  assert sorted(got) == sorted(expected)
  for name in set(expected) - {"loss"}:
    assert got[name] == pytest.approx(expected[name], abs=2e-4), name


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_multi_worker_two_processes_match_one_device(baseline, data,
                                                     tmp_path):
  output_dir, _, _, lines = baseline
  workers = [f"localhost:{port}" for port in _free_ports(2)]
  processes = []
  for index in range(2):
    tf_config = json.dumps({"cluster": {"worker": workers},
                            "task": {"type": "worker", "index": index}})
    processes.append(subprocess.Popen(
        [sys.executable, "-m", "albert_tf.run_pretraining",
         *flag_args(data, tmp_path / "multi_worker",
                    distribution_strategy="multi_worker_mirrored")],
        cwd=PROJECT_ROOT, env=_subprocess_env(TF_CONFIG=tf_config),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  outputs = [p.communicate(timeout=400) for p in processes]
  for process, (_, stderr) in zip(processes, outputs):
    assert process.returncode == 0, stderr[-3000:]
  chief_losses = step_losses(outputs[0][0].splitlines())
  np.testing.assert_allclose(chief_losses, step_losses(lines), atol=2e-4)
  for name, value in final_weights(output_dir).items():
    np.testing.assert_allclose(final_weights(tmp_path / "multi_worker")[name],
                               value, atol=2e-4, err_msg=name)


_TF_CHECKPOINTS = "tensorflow.python.checkpoint.checkpoint_management"


@pytest.mark.slow
def test_killed_anywhere_resumes_to_the_same_weights(dropout_baseline, data,
                                                     tmp_path):
  """kill -9 at random steps and at each step of writing a checkpoint; every
  rerun resumes from what the killed one left, the last one finishes. With
  dropout on: a resumed run draws the uninterrupted run's masks."""
  rng = random.Random(5)
  resumed = tmp_path / "resumed"
  # Checkpoints: after a new run's first step, then 10 steps after the last
  # one (saved or resumed from), and at the end.
  dropout = dict(albert_config_file=data / DROPOUT_CONFIG, **DROPOUT_RUN)
  args = flag_args(data, resumed, do_eval=True, iterations_per_loop=1,
                   **dropout)
  # At a random moment of a random step.
  run = fi.KilledRun("albert_tf.run_pretraining", args)
  run.kill_when(run.printed(f"step {rng.randint(3, 9)}/"),
                delay=rng.uniform(0, 0.5))
  # At the first checkpoint of a run: its files written (merged from the
  # saver's PREFIX_temp folder), the state file not yet naming it; then its
  # files still in PREFIX_temp/, not merged; then merged, and the state
  # written to TensorFlow's checkpoint.tmp<hex>, not yet renamed.
  numbered = r"model\.ckpt-\d+'"
  for hook in [
      fi.call_hook(f"{_TF_CHECKPOINTS}:update_checkpoint_state_internal",
                   match=numbered),
      fi.call_hook("tensorflow.python.ops.gen_io_ops:merge_v2_checkpoints",
                   match=numbered),
      fi.call_hook("tensorflow.python.lib.io.file_io:rename",
                   match=r"/checkpoint\.tmp")]:
    run = fi.KilledRun("albert_tf.run_pretraining", args, hooks=[hook])
    run.assert_killed(by_hook=hook["label"])
  assert not (resumed / "tf1").exists()
  # At a random moment of a random step after the checkpoint resumed from;
  # a pause as the last checkpoint is recorded keeps a fast machine from
  # finishing the run before the kill.
  last = fi.call_hook(f"{_TF_CHECKPOINTS}:update_checkpoint_state_internal",
                      match=r"model\.ckpt-30'", action="pause")
  run = fi.KilledRun("albert_tf.run_pretraining", args, hooks=[last])
  run.wait_until(run.printed("resuming from"))
  (line,) = [l for l in run.lines if l.startswith("resuming from")]
  start = int(line.rsplit("-", 1)[1])
  assert start < 25, line
  run.kill_when(run.printed(f"step {rng.randint(start + 2, 29)}/"),
                delay=rng.uniform(0, 0.5))
  _, lines = train_in_process(data, resumed, do_eval=True, **dropout)
  assert any(line.startswith("resuming from") for line in lines), lines
  expected = final_weights(dropout_baseline)
  got = final_weights(resumed)
  differences = {name: float(np.abs(got[name] - value).max())
                 for name, value in expected.items()}
  worst = max(differences, key=differences.get)
  assert differences[worst] <= 1e-6, (
      f"max difference {differences[worst]:.3g} ({worst})")
  assert fi.leftovers(resumed) == []


def _copy_of(output_dir, tmp_path):
  copy = tmp_path / "copy"
  shutil.copytree(output_dir, copy)
  return copy


def _snapshot(directory):
  return {str(p.relative_to(directory)): p.read_bytes()
          for p in sorted(directory.rglob("*")) if p.is_file()}


def test_damaged_newest_checkpoint_resumes_from_the_one_before(
    baseline, data, tmp_path):
  output_dir = _copy_of(baseline[0], tmp_path)
  shutil.rmtree(output_dir / "tf1")
  (data_file,) = output_dir.glob("model.ckpt-30.data-*")
  data_file.write_bytes(data_file.read_bytes()[:100])  # A torn write.
  _, lines = train_in_process(data, output_dir, do_eval=True)
  assert any("model.ckpt-30" in line and "damaged" in line.lower()
             for line in lines), lines
  (resumed,) = [line for line in lines if line.startswith("resuming from")]
  assert "model.ckpt-25" in resumed, lines  # The one before the damaged one.
  expected = final_weights(baseline[0])
  got = final_weights(output_dir)
  for name, value in expected.items():
    np.testing.assert_allclose(got[name], value, atol=1e-6, err_msg=name)


def test_a_run_with_other_settings_is_refused_before_writing(
    baseline, data, tmp_path):
  output_dir = _copy_of(baseline[0], tmp_path)
  before = _snapshot(output_dir)
  with pytest.raises(files.RunManifestMismatchError, match="seed"):
    train_in_process(data, output_dir, do_eval=True, seed=4)
  assert _snapshot(output_dir) == before


def _evaluate(data, output_dir, eval_records, **overrides):
  """Evaluates output_dir's newest checkpoint on the first `eval_records`
  records of eval.tfrecord; returns the results."""
  eval_file = output_dir / f"eval-{eval_records}.tfrecord"
  with tf.io.TFRecordWriter(str(eval_file)) as writer:
    for record in tf.data.TFRecordDataset(str(data / "eval.tfrecord")).take(
        eval_records):
      writer.write(record.numpy())
  (_, results), _ = train_in_process(data, output_dir, do_train=False,
                                     do_eval=True, eval_input_file=eval_file,
                                     **overrides)
  return results


def test_eval_on_fewer_examples_than_a_batch_evaluates_them(
    baseline, data, tmp_path):
  """5 examples, --eval_batch_size=8: the partial batch is evaluated (was:
  zeros for every metric, and a model.ckpt-best of them)."""
  output_dir = _copy_of(baseline[0], tmp_path)
  for name in output_dir.glob("model.ckpt-best*"):
    name.unlink()
  (output_dir / "best_checkpoint.json").unlink()
  partial = _evaluate(data, output_dir, 5, eval_batch_size=8)
  whole = _evaluate(data, output_dir, 5, eval_batch_size=5)
  # Losses of an evaluated batch (was: 0.0 for every metric).
  assert partial["masked_lm_loss"] > 0.1, partial
  assert partial["sentence_order_loss"] > 0.1, partial
  for name, value in whole.items():
    assert partial[name] == pytest.approx(value, abs=1e-6), name


def test_eval_that_would_see_nothing_is_refused(baseline, data, tmp_path,
                                                monkeypatch):
  """Where whole batches are needed (TPU), fewer records than a batch are
  refused before anything runs; an evaluation that saw no example all the
  same writes nothing."""
  output_dir = _copy_of(baseline[0], tmp_path)
  before = _snapshot(output_dir)
  monkeypatch.setattr(pretraining_job, "whole_eval_batches", lambda _: True)
  with pytest.raises(pretraining_settings.UsageError,
                     match=r"eval-5\.tfrecord holds 5 records, fewer than "
                     "--eval_batch_size=8: on TPU"):
    _evaluate(data, output_dir, 5, eval_batch_size=8)
  monkeypatch.setattr(pretraining_job, "check_eval_size", lambda *_: None)
  with pytest.raises(NothingEvaluatedError, match="read no examples"):
    _evaluate(data, output_dir, 5, eval_batch_size=8)
  (output_dir / "eval-5.tfrecord").unlink()
  # No results, no best checkpoint: only TensorBoard's writer has opened an
  # (empty) event file of the evaluation.
  after = _snapshot(output_dir)
  assert [name for name in set(after) - set(before)
          if not name.startswith("summaries/eval/")] == []
  assert {name: after[name] for name in before} == before


def test_output_directories_honour_the_umask(data, tmp_path):
  """TensorFlow makes its directories 0755 whatever the umask: under umask
  002 every directory of the run must still be group-writable."""
  old = os.umask(0o002)
  try:
    output_dir = tmp_path / "out" / "run"
    train_in_process(data, output_dir, do_eval=True, num_train_steps=4,
                     save_checkpoints_steps=2, iterations_per_loop=2,
                     max_eval_steps=1)
  finally:
    os.umask(old)
  modes = {str(path.relative_to(tmp_path)): oct(path.stat().st_mode & 0o777)
           for path in [output_dir.parent, *output_dir.parent.rglob("*")]
           if path.is_dir()}
  assert "out/run/summaries/eval" in modes
  assert set(modes.values()) == {"0o775"}, modes


def test_a_second_writer_is_refused(data, tmp_path):
  output_dir = tmp_path / "out"
  holder = subprocess.Popen(
      [sys.executable, "-c",
       "import sys, time\n"
       "from albert_tf import files\n"
       "with files.lock_output_dir(sys.argv[1]):\n"
       "  print('locked', flush=True)\n"
       "  time.sleep(120)\n", str(output_dir)],
      cwd=PROJECT_ROOT, env=_subprocess_env(), stdout=subprocess.PIPE,
      text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(files.OutputLockedError, match=str(holder.pid)):
      train_in_process(data, output_dir)
  finally:
    holder.kill()
    holder.wait()
  assert not list(output_dir.glob("model.ckpt*"))


def test_init_checkpoint_starts_from_the_original_weights(tmp_path):
  fixture = "google_tiny"
  config = json.loads(open(ref.config_path(fixture)).read())
  data = tmp_path / "data"
  data.mkdir()
  write_records(str(data / "train.tfrecord"), 16, seed=0, seq=16, pred=3,
                vocab=config["vocab_size"])
  (data / "albert_config.json").write_text(json.dumps(config))
  # Warmup makes step 0's learning rate 0: the single step changes nothing.
  train_in_process(data, tmp_path / "out", input_file=data / "train.tfrecord",
                   eval_input_file=None, max_seq_length=16,
                   max_predictions_per_seq=3, num_train_steps=1,
                   num_warmup_steps=5,
                   init_checkpoint=ref.checkpoint_prefix(fixture))
  original = tf.train.load_checkpoint(ref.checkpoint_prefix(fixture))
  weights = final_weights(tmp_path / "out")
  assert len(weights) == 32
  for name, value in weights.items():
    np.testing.assert_array_equal(value, original.get_tensor(name),
                                  err_msg=name)


def test_mixed_bfloat16_trains(data, tmp_path):
  (train_output, _), _ = train_in_process(
      data, tmp_path / "bf16", mixed_precision="bfloat16", num_train_steps=10)
  assert np.isfinite(train_output["total_loss"])
  # Weights stay float32.
  weights = final_weights(tmp_path / "bf16")
  assert all(w.dtype == np.float32 for w in weights.values())


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
  out = tmp_path / "nan"
  with pytest.raises(TrainingDivergedError,
                     match="not finite.*last good checkpoint"):
    train_in_process(data, out, optimizer="adamw", learning_rate=1e35,
                     num_warmup_steps=2, iterations_per_loop=1,
                     save_checkpoints_steps=1)
  latest = tf.train.latest_checkpoint(str(out))
  assert latest is not None
  reader = tf.train.load_checkpoint(latest)
  floats = [name for name, dtype in reader.get_variable_to_dtype_map().items()
            if dtype.is_floating]
  assert len(floats) > 32
  for name in floats:
    assert np.isfinite(reader.get_tensor(name)).all(), name


@pytest.mark.parametrize("overrides, message", [
    ({"albert_config_file": None}, "missing required flags: "
     "--albert_config_file"),
    ({"do_train": False}, "--do_train and/or --do_eval"),
    ({"input_file": "/nonexistent/train-*"},
     "--input_file pattern '/nonexistent/train-\\*' matches no files"),
    ({"max_seq_length": 48}, "`input_ids` has 32 values but "
     "--max_seq_length asks for 48"),
    ({"max_predictions_per_seq": 4}, "--max_predictions_per_seq asks for 4"),
    ({"max_seq_length": 128}, "exceeds max_position_embeddings=64"),
    ({"train_batch_size": 0}, "--train_batch_size must be positive"),
    ({"learning_rate": -0.01}, "--learning_rate must be positive"),
    # The records were written with the SentencePiece test vocabulary.
    ({"dynamic_masking": True, "vocab_file": ref.ZH_VOCAB},
     "given vocabulary's \\[CLS\\] and \\[SEP\\] are 101 and 102"),
])
def test_bad_flags_are_reported(data, tmp_path, overrides, message):
  with pytest.raises(pretraining_settings.UsageError, match=message):
    train_in_process(data, tmp_path / "out", **overrides)
  assert not (tmp_path / "out" / "checkpoint").exists()


def test_corrupt_records_are_reported(data, tmp_path):
  garbage = tmp_path / "garbage.tfrecord"
  garbage.write_bytes(b"this is not a TFRecord file at all" * 10)
  with pytest.raises(pretraining_settings.UsageError,
                     match="garbage.tfrecord is not a readable TFRecord"):
    train_in_process(data, tmp_path / "out", input_file=garbage)
  # A good first record followed by corruption fails during training.
  broken = tmp_path / "broken.tfrecord"
  good = (data / "train-0.tfrecord").read_bytes()
  broken.write_bytes(good[:len(good) // 2] + b"\x00garbage" * 50)
  with pytest.raises(pretraining_settings.UsageError,
                     match="corrupt record in .*broken.tfrecord .*no "
                     "checkpoint was written"):
    train_in_process(data, tmp_path / "out2", input_file=broken,
                     num_train_steps=200)
  # Intact records of other lengths in a file after the first (the start-up
  # check reads the first file only): "Can't parse serialized Example" from
  # inside tf.data, turned into an error naming the file.
  mixed = tmp_path / "mixed"
  mixed.mkdir()
  (mixed / "train-0.tfrecord").write_bytes(good)
  write_records(str(mixed / "train-1.tfrecord"), 96, seed=1, seq=2 * SEQ)
  with pytest.raises(pretraining_settings.UsageError,
                     match=r"the records of .*mixed/train-1\.tfrecord do not "
                     f"parse with --max_seq_length={SEQ} and "
                     f"--max_predictions_per_seq={PRED}"):
    train_in_process(data, tmp_path / "out3",
                     input_file=mixed / "train-*", num_train_steps=200)


@pytest.mark.parametrize("flagfile", sorted(
    f for f in os.listdir(os.path.join(PROJECT_ROOT, "run_scripts"))
    if f.endswith(".flags")))
def test_shipped_flagfiles_parse_and_pass_checks(flagfile):
  values = parse([f"--flagfile={os.path.join(PROJECT_ROOT, 'run_scripts', flagfile)}"])
  pretraining_settings.check_flags(values)
  config_file = os.path.join(PROJECT_ROOT, values.albert_config_file)
  pretraining_job.read_config(config_file, values.max_seq_length)
  if "tpu" in flagfile:
    assert values.use_tpu and values.train_batch_size == 4096
    assert values.learning_rate == pytest.approx(0.00176)
    assert values.num_train_steps == 125000
    assert values.num_warmup_steps == 3125
    # Their placeholders are for the user to replace: run as written, they
    # stop there (one error: line, see bad_input_test).
    with pytest.raises(pretraining_settings.UsageError,
                       match="YOUR_BUCKET and YOUR_TPU"):
      pretraining_settings.check_placeholders(values)
  else:
    pretraining_settings.check_placeholders(values)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
