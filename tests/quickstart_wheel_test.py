"""The quick start runs the whole mission from an installed wheel.

The wheel is built from a copy of the sources, installed with `pip install
--no-deps --target` into a temporary directory (TensorFlow and the other
dependencies come from the running interpreter's environment, whatever kind
of environment that is), and the quick start runs from another temporary
directory with that one on PYTHONPATH: no checkout file can be used.
Fewer steps keep it short; the stages and checks are those of a full run.
"""

import os
import shutil
import subprocess
import sys

import pytest

from reference_data import PROJECT_ROOT

SOURCES = ("setup.py", "MANIFEST.in", "albert_tf", "tfhub_export")


def _run(command, **kwargs):
  result = subprocess.run(command, capture_output=True, text=True,
                          check=False, **kwargs)
  assert result.returncode == 0, (command, result.stdout[-5000:],
                                  result.stderr[-5000:])
  return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """(site directory holding the installed wheel, its environment)."""
  root = tmp_path_factory.mktemp("wheel")
  source = root / "source"
  source.mkdir()
  # A copy: no stale build/ directory of the checkout ends up in the wheel.
  for name in SOURCES:
    path = os.path.join(PROJECT_ROOT, name)
    if os.path.isdir(path):
      shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(
          "__pycache__", "*.pyc"))
    else:
      shutil.copy(path, source / name)
  dist = root / "dist"
  _run([sys.executable, "-m", "pip", "wheel", "--no-deps",
        "--no-build-isolation", "-q", "-w", str(dist), str(source)],
       cwd=root)
  (wheel,) = dist.glob("albert_tf-*.whl")
  site = root / "site"
  _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
        "-q", "--target", str(site), str(wheel)], cwd=root)
  env = dict(os.environ, PYTHONPATH=str(site))
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as users run it
  return site, env


def test_the_wheel_is_what_runs(installed, tmp_path):
  site, env = installed
  result = _run([sys.executable, "-c",
                 "import albert_tf, albert_tf.quickstart_job as q; "
                 "print(albert_tf.__file__); print(q.TINY_FLAGFILE)"],
                cwd=tmp_path, env=env)
  module_file, flagfile = result.stdout.split()
  assert module_file.startswith(str(site))
  assert flagfile.startswith(str(site)) and os.path.exists(flagfile)


@pytest.mark.slow
def test_the_quickstart_runs_from_the_installed_wheel(installed, tmp_path):
  _, env = installed
  out = tmp_path / "out"
  result = _run([sys.executable, "-m", "albert_tf.quickstart",
                 "--output_dir=out", "--num_train_steps=20",
                 "--finetune_steps=20", "--dupe_factor=1"],
                cwd=tmp_path, env=env, timeout=900)
  text = result.stdout
  for number in range(1, 9):
    assert f"== {number}/8 " in text
  # Exports, TF Hub layout and TF Serving versions.
  for path in ("export/encoder/saved_model.pb",
               "export/preprocessor/saved_model.pb",
               "export/serving/1/saved_model.pb",
               "tagger/serving/1/saved_model.pb",
               "tagger/label_list.txt", "demo/encoder_demo.py",
               "demo/tagger_demo.py", "reviews/train.csv"):
    assert (out / path).exists(), path
  # The fresh TensorFlow-only processes answered.
  assert text.count("pooled_output norm") == 2
  assert "top 5 for [MASK] 1:" in text
  assert "dev span F1" in text
  assert text.count("    => ") == 2
  # The summary: serving and TensorBoard commands.
  assert "tensorflow_model_server --port=8500 --rest_api_port=8501" in text
  assert "curl -X POST http://localhost:8501/v1/models/dishes:predict" in text
  assert "tensorboard --logdir" in text
  # Nothing besides the output directory was written.
  assert sorted(os.listdir(tmp_path)) == ["out"]
  # The terminal is not flooded: TensorFlow's start-up noise is filtered
  # and training reports a line per loop.
  assert len(text.splitlines()) < 150
  assert "cuInit" not in result.stderr
