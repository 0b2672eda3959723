"""Fine-tuning on 2 replicas (MirroredStrategy over 2 logical CPUs) gives the
one-device results: the loss is averaged over the global batch, gradients
are summed across replicas, and evaluation/prediction run inside the
strategy with the replicas' outputs gathered back in input order (the
classifier's 17 dev examples are fewer than its --eval_batch_size=32, its
9 test examples end in a partial batch of 5).

Each run is a subprocess: logical devices must be configured before
TensorFlow starts. The tiny model has no dropout (config dropout 0, and the
classifier head's dropout is set to 0 in the subprocess; SQuAD v1's head has
none), so both runs follow the same trajectory up to float summation order.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import finetuning_data
import squad_synthetic
from reference_data import PROJECT_ROOT
from reference_data import SPM_MODEL

# Four short fine-tuning processes.
pytestmark = pytest.mark.slow

_SCRIPT = textwrap.dedent("""
    import sys
    from albert_tf.tasks import classifier_model
    from albert_tf import run_classifier, run_squad
    classifier_model.HEAD_DROPOUT = 0.0  # Same trajectory on any replicas.
    root, config, task, devices = sys.argv[1:5]
    common = dict(albert_config_file=config, spm_model_file={spm!r},
                  do_train=True, do_predict=True, train_batch_size=8,
                  predict_batch_size=5, eval_batch_size=32, train_step=12,
                  warmup_step=2, save_checkpoints_steps=6,
                  iterations_per_loop=3, learning_rate=1e-3, seed=3,
                  num_cpu_devices=int(devices),
                  output_dir=f"{{root}}/{{task}}_{{devices}}")
    if task == "classifier":
      run_classifier.run(run_classifier.defaults(
          task_name="sst-2", data_dir=root + "/sst2", max_seq_length=24,
          do_eval=True, **common))
    else:
      run_squad.run(run_squad.defaults(
          train_file=root + "/squad_train.json",
          predict_file=root + "/squad_dev.json", max_seq_length=48,
          doc_stride=16, max_query_length=12, n_best_size=3, **common))
""").format(spm=SPM_MODEL)


def _run(root, config, task, devices):
  """One job per process, as users run them (a process sets up its logical
  devices, and its collectives, once)."""
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [PROJECT_ROOT, os.environ.get("PYTHONPATH", "")]))
  result = subprocess.run(
      [sys.executable, "-c", _SCRIPT, str(root), config, task, str(devices)],
      capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
      timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-3000:]


def _eval_results(path):
  with open(path, encoding="utf-8") as f:
    return {k: float(v) for k, v in
            (line.split(" = ") for line in f.read().splitlines())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("mirrored")
  finetuning_data.write_sst2(str(root / "sst2"), (48, 17, 9))
  config = finetuning_data.write_tiny_config(str(root / "config.json"))
  squad_synthetic.write_squad_file(
      root / "squad_train.json",
      squad_synthetic.make_dataset(40, 1, False, max_words=40), "1.1")
  squad_synthetic.write_squad_file(
      root / "squad_dev.json",
      squad_synthetic.make_dataset(13, 2, False, max_words=40), "1.1")
  for task in ("classifier", "squad"):
    for devices in (1, 2):
      _run(root, config, task, devices)
  return root


def test_classifier_metrics_match_one_device(runs):
  one = _eval_results(runs / "classifier_1" / "eval_results.txt")
  two = _eval_results(runs / "classifier_2" / "eval_results.txt")
  assert one.keys() == two.keys() == {"accuracy"}
  assert two == pytest.approx(one, abs=1e-6)
  probabilities = [np.loadtxt(runs / f"classifier_{n}" / "test_results.tsv")
                   for n in (1, 2)]
  assert probabilities[0].shape == (9, 2)
  np.testing.assert_allclose(probabilities[1], probabilities[0], atol=2e-4)
  histories = [[json.loads(line) for line in
                open(runs / f"classifier_{n}" / "eval_history.jsonl")]
               for n in (1, 2)]
  assert [h["step"] for h in histories[1]] == [6, 12]
  assert histories[1] == histories[0]


def test_squad_metrics_match_one_device(runs):
  one = _eval_results(runs / "squad_1" / "eval_results.txt")
  two = _eval_results(runs / "squad_2" / "eval_results.txt")
  assert {"exact_match", "f1"} <= one.keys()
  assert two == pytest.approx(one, abs=1e-6)
  nbest = []
  for n in (1, 2):
    with open(runs / f"squad_{n}" / "nbest_predictions.json") as f:
      nbest.append(json.load(f))
  assert nbest[1].keys() == nbest[0].keys() and len(nbest[0]) == 13
  for qid, entries in nbest[0].items():
    assert [e["text"] for e in nbest[1][qid]] == [e["text"] for e in entries]
    np.testing.assert_allclose([e["probability"] for e in nbest[1][qid]],
                               [e["probability"] for e in entries], atol=2e-4)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
