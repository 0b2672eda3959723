"""The shape of the package: flag-free library, what the wheel ships, quiet CLIs."""

import ast
import glob
import os
import subprocess
import sys
import zipfile

import pytest

from build_file_test import ENTRY_POINTS
from cli_helpers import run_module
from reference_data import PROJECT_ROOT

# Entry-point modules below albert_tf/ (and the cli/ plumbing) may use absl
# flags; every other module takes typed settings.
FLAG_MODULES = {f"albert_tf/{entry}.py" for entry in ENTRY_POINTS
                if not entry.endswith(".py")}


def _imports_absl_flags(path):
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module == "absl" and any(
        alias.name == "flags" for alias in node.names):
      return True
    if isinstance(node, ast.ImportFrom) and node.module == "absl.flags":
      return True
    if isinstance(node, ast.Import) and any(
        alias.name == "absl.flags" for alias in node.names):
      return True
  return False


def library_modules_using_flags(root=PROJECT_ROOT):
  found = []
  for path in sorted(glob.glob(os.path.join(root, "albert_tf", "**", "*.py"),
                               recursive=True)):
    relative = os.path.relpath(path, root)
    if relative in FLAG_MODULES or relative.startswith("albert_tf/cli/"):
      continue
    if _imports_absl_flags(path):
      found.append(relative)
  return found


def test_only_entry_points_use_absl_flags():
  assert library_modules_using_flags() == []


def test_the_flag_check_catches_a_library_module(tmp_path):
  module = tmp_path / "albert_tf" / "training" / "sneaky.py"
  module.parent.mkdir(parents=True)
  module.write_text("from absl import flags\nFLAGS = flags.FLAGS\n")
  (tmp_path / "albert_tf" / "run_thing.py").write_text(
      "import absl.flags\n")
  assert library_modules_using_flags(str(tmp_path)) == [
      "albert_tf/run_thing.py", "albert_tf/training/sneaky.py"]


def _albert_tf_imports(relative):
  """The albert_tf modules a file imports, at any level (function bodies
  included: an import moved into a function still closes a circle)."""
  with open(os.path.join(PROJECT_ROOT, relative), encoding="utf-8") as f:
    tree = ast.parse(f.read(), relative)
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      found.add(node.module)
      found.update(f"{node.module}.{alias.name}" for alias in node.names)
  return {name for name in found if name.startswith("albert_tf")}


def test_config_and_the_hugging_face_config_do_not_import_each_other():
  # config.py reads a transformers config.json through hf_config_keys.py;
  # checkpoints/hf_config.py (the writer) imports config. Nothing leads back.
  config = _albert_tf_imports("albert_tf/config.py")
  keys = _albert_tf_imports("albert_tf/hf_config_keys.py")
  assert "albert_tf.hf_config_keys" in config
  assert not {m for m in config | keys
              if m.startswith("albert_tf.checkpoints")}
  assert not {m for m in keys if m.startswith("albert_tf.config")}


@pytest.mark.slow
def test_wheel_ships_the_package_without_benchmarks(tmp_path):
  subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                  "--no-build-isolation", "-q", "-w", str(tmp_path),
                  PROJECT_ROOT], check=True, capture_output=True,
                 cwd=tmp_path)
  (wheel,) = glob.glob(str(tmp_path / "albert_tf-*.whl"))
  names = zipfile.ZipFile(wheel).namelist()
  assert "albert_tf/run_pretraining.py" in names
  assert "tfhub_export/export.py" in names
  assert not [n for n in names if n.startswith(("benchmarks/", "tests/",
                                                "testdata/"))]
  assert not [n for n in names if "benchmark" in os.path.basename(n) or
              "tf1_reference_graph" in n]


def test_entry_points_keep_tensorflow_start_up_noise_off_stderr(tmp_path):
  # describe builds nothing, but importing TensorFlow alone prints oneDNN
  # and CPU-feature notices, and "failed call to cuInit" where CUDA
  # libraries exist without a GPU.
  result = run_module("albert_tf.describe", "--preset=albert_base_v2")
  assert result.returncode == 0, result.stderr
  assert result.stderr == ""
  failed = run_module("albert_tf.describe", "--preset=no_such_model")
  assert failed.returncode == 1
  assert failed.stderr.startswith("error: unknown preset 'no_such_model'")
  assert len(failed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("line, harmless", [
    ("2026-12-03 07:59:05.647514: E external/local_xla/xla/stream_executor/"
     "cuda/cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: "
     "Failed call to cuInit: UNKNOWN ERROR (303)", True),
    ("2026-12-03 08:01:02.000001: I tensorflow/core/framework/"
     "local_rendezvous.cc:407] Local rendezvous is aborting with status: "
     "OUT_OF_RANGE: End of sequence", True),
    ("W tensorflow/core/kernels/data/generator_dataset_op.cc:108] Error "
     "occurred when finalizing GeneratorDataset iterator: FAILED_PRECONDITION:"
     " Python interpreter state is not initialized. The process may be "
     "terminated.", True),
    ("error: --input_file pattern 'x*' matches no files", False),
    ("Traceback (most recent call last):", False),
    ("E tensorflow/core/framework/op_kernel.cc:1] OOM when allocating tensor",
     False),
])
def test_only_known_harmless_lines_are_dropped(line, harmless):
  from albert_tf.cli import quiet_startup  # pylint: disable=g-import-not-at-top
  assert bool(quiet_startup.HARMLESS_LINES.search(line)) == harmless
