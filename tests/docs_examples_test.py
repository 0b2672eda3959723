"""Every doc page's first example runs as written after the quick start.

A new user's first contact with a page is its first code block. It either
runs as written in a directory holding the quick start's outputs
(./albert_quickstart, made here by the quick start's own stages with fewer
steps, the exports by the export page's example) and a checkout's testdata/, or the page says, right after it, which
files it needs and where to get them ("Needs: ..."). Python blocks are
exec'd, shell blocks run with bash; both in that directory. The quick
start's demo scripts run there too, quiet unless --verbosity asks.
"""

import glob
import os
import re
import subprocess
import sys

import pytest

from albert_tf import quickstart_job
from albert_tf.cli import quiet_startup
from cli_helpers import _user_environment
from quiet_tools_test import assert_quiet
from quiet_tools_test import assert_verbose
from reference_data import PROJECT_ROOT

PAGES = ("README.md",) + tuple(sorted(
    os.path.relpath(path, PROJECT_ROOT)
    for path in glob.glob(os.path.join(PROJECT_ROOT, "docs", "*.md"))))
# Pages whose first block is the quick start itself (what the fixture
# runs): README's first example is its next block; the quick start page
# has no other.
QUICKSTART_BLOCK_FIRST = {"README.md": 1, "docs/quickstart.md": None}
# Pages whose first example needs data or machines a test cannot have
# (GLUE, SQuAD, RACE, a TPU, minutes of benchmarking, the [test] extras).
NEEDS_FILES = ("docs/distillation.md", "docs/finetuning.md",
               "docs/huggingface.md", "docs/memory.md",
               "docs/pretraining.md", "docs/speed.md", "docs/squad.md")
RUN = tuple(page for page in PAGES if page not in NEEDS_FILES and
            QUICKSTART_BLOCK_FIRST.get(page, 0) is not None)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def read(page):
  with open(os.path.join(PROJECT_ROOT, page), encoding="utf-8") as f:
    return f.read()


def first_example(page):
  """(language, code, the text after the block) of the page's example."""
  blocks = list(FENCE.finditer(read(page)))
  block = blocks[QUICKSTART_BLOCK_FIRST.get(page, 0)]
  return block.group(1), block.group(2), read(page)[block.end():]


def test_every_page_is_run_or_says_what_it_needs():
  assert set(RUN) | set(NEEDS_FILES) | set(QUICKSTART_BLOCK_FIRST) == set(
      PAGES)
  for page in NEEDS_FILES:
    _, _, after = first_example(page)
    assert after.lstrip("\n").startswith("Needs: "), page
  for page in QUICKSTART_BLOCK_FIRST:
    _, code = FENCE.search(read(page)).groups()
    assert "python -m albert_tf.quickstart" in code, page


def run_shell_example(code, workdir):
  """Runs a shell block as written, except that /tmp/ is workdir/tmp/."""
  code = code.replace("/tmp/", f"{workdir}/tmp/")
  return subprocess.run(["bash", "-e", "-c", code], cwd=workdir,
                        capture_output=True, text=True, timeout=600,
                        env=_user_environment(), check=False)


# The export page's example makes the exports the demo and the serving
# hint use (exports/albert_quickstart: encoder/, preprocessor/, serving/1/,
# as the quick start's export/), so the fixture runs it, once.
EXPORT_PAGE = "docs/export_and_serving.md"
EXPORTS = "exports/albert_quickstart"


@pytest.fixture(scope="module")
def quickstart_outputs(tmp_path_factory):
  """(A directory with the quick start's outputs in albert_quickstart/, its
  stages up to pretraining with 2 steps, and testdata/; the run of the
  export page's example there)."""
  root = tmp_path_factory.mktemp("docs")
  settings = quickstart_job.defaults(
      output_dir=str(root / "albert_quickstart"), num_train_steps=2,
      vocab_size=500, dupe_factor=1)
  run = quickstart_job.Quickstart(settings)
  run.corpus()
  run.vocabulary()
  run.pretraining = run.pretraining_settings()
  run.pretraining_data()
  run.pretrain()
  os.symlink(os.path.join(PROJECT_ROOT, "testdata"), root / "testdata")
  language, code, _ = first_example(EXPORT_PAGE)
  assert language == "bash" and EXPORTS in code
  return root, run_shell_example(code, root)


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN)
def test_the_first_example_runs(page, quickstart_outputs, monkeypatch):
  root, export_run = quickstart_outputs
  language, code, _ = first_example(page)
  if language == "python":
    monkeypatch.chdir(root)
    exec(compile(code, page, "exec"), {"__name__": "doc_example"})  # pylint: disable=exec-used
    return
  assert language in ("bash", "sh"), (page, language)
  result = (export_run if page == EXPORT_PAGE
            else run_shell_example(code, root))
  assert_quiet(result)


def _demo_path():
  return os.path.join(os.path.dirname(quickstart_job.__file__), "quickstart_data",
                      quickstart_job.ENCODER_DEMO)


def _encoder_demo(workdir, *args):
  return subprocess.run(
      [sys.executable, _demo_path(), EXPORTS, "Open the file.",
       f"--fill_in={quickstart_job.FILL_IN_SENTENCE}",
       f"--mask_word={quickstart_job.FILL_IN_WORD}", *args],
      cwd=workdir, capture_output=True, text=True, timeout=300,
      env=_user_environment(), check=False)


@pytest.mark.slow
def test_the_demo_scripts_are_quiet_unless_asked(quickstart_outputs):
  workdir, _ = quickstart_outputs
  quiet = _encoder_demo(workdir)
  assert_quiet(quiet)
  assert "pooled_output norm" in quiet.stdout
  assert "top 5 for [MASK] 1:" in quiet.stdout
  # --verbosity=0: TensorFlow's start-up notices are back (shown by a run
  # that stops right after TensorFlow loads: no such export).
  verbose = subprocess.run(
      [sys.executable, _demo_path(), "no_export", "x", "--fill_in=x",
       "--mask_word=x", "--verbosity=0"], cwd=workdir, capture_output=True,
      text=True, timeout=300, env=_user_environment(), check=False)
  assert verbose.returncode != 0
  assert quiet_startup.HARMLESS_LINES.search(verbose.stderr), verbose.stderr


@pytest.mark.slow
def test_the_serving_hint_has_a_python_client_that_needs_no_server(
    quickstart_outputs):
  workdir, _ = quickstart_outputs
  serving = str(workdir / EXPORTS / "serving")
  inputs = {"text_a": "Open the file.", "text_b": ""}
  hint = quickstart_job.serving_help(serving, "albert", inputs)
  assert "tensorflow/serving:2.20.0" in hint
  command = hint.splitlines()[-1].strip()
  assert command == quickstart_job.python_client(serving, inputs)
  result = subprocess.run(
      ["bash", "-c", command.replace("python -c", f"{sys.executable} -c", 1)],
      cwd=workdir, capture_output=True, text=True, timeout=300,
      env=_user_environment(), check=False)
  assert_quiet(result)
  assert "pooled_output: [[" in result.stdout
