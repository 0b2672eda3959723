"""Resuming with dropout on is exact: N steps, a checkpoint, a fresh model
and trainer restored from it, M more steps == N + M steps straight.

With dropout on in the encoder (hidden and attention probabilities) and
the head, on one device, with recompute_activations=block, with 2
accumulated micro-batches and on 2 replicas (2 logical CPUs). Before the
masks were a function of (seed, step, replica, micro-batch, call), the
resumed runs ended 0.046 to 0.061 from the straight ones (max difference of
weights and optimizer slots after 3 + 3 steps).

The same for a token classifier with input masking on (tasks/input_masking:
its [MASK] draws come from the same seed scope as the dropout masks).

All cases run in one child process (dropout_resume_child.py): the CPU can
be split into logical devices only before TensorFlow starts.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from reference_data import PROJECT_ROOT

_CHILD = os.path.join(os.path.dirname(__file__), "dropout_resume_child.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  work_dir = tmp_path_factory.mktemp("dropout_resume")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(
      [PROJECT_ROOT, os.path.dirname(__file__),
       os.environ.get("PYTHONPATH", "")]))
  result = subprocess.run([sys.executable, _CHILD, str(work_dir)],
                          capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["plain", "recompute_block",
                                  "accumulation_2", "replicas_2", "tagger",
                                  "tagger_input_masking"])
def test_resumed_run_equals_the_straight_one(results, case):
  assert results[case]["max_difference"] <= 1e-6, results[case][
      "max_difference"]


def _max_difference(a, b):
  return max(float(np.abs(np.array(a["weights"][name]) -
                          np.array(b["weights"][name])).max())
             for name in a["weights"])


def test_recomputation_draws_the_same_masks(results):
  # Same masks whatever the recompute mode, so the same run up to the order
  # of float operations.
  assert _max_difference(results["plain"], results["recompute_block"]) < 1e-5


@pytest.mark.parametrize("case", ["accumulation_2", "replicas_2"])
def test_dropout_is_on(results, case):
  """Splitting the batch in 2 (micro-batches or replicas) computes the same
  update without dropout (to ~1e-6); with dropout each half draws its own
  masks, so the runs differ: the cases above really trained with dropout."""
  assert _max_difference(results["plain"], results[case]) > 1e-3


def test_input_masking_is_on(results):
  """The masked tagger trained on other inputs than the plain one."""
  assert _max_difference(results["tagger"],
                         results["tagger_input_masking"]) > 1e-3
