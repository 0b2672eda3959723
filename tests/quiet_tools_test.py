"""Every tool is quiet by default and --verbosity brings the detail back.

Each tool runs a small real job as users start it (`python -m`, no
TF_CPP_MIN_LOG_LEVEL): stderr must hold no absl INFO line and none of
TensorFlow's C++ chatter (cuInit, rendezvous, oneDNN and CPU notices),
while the progress and result lines still reach stdout. A fine-tuning task
of the user's own (docs/add_a_task.md) imports TensorFlow before
albert_tf can quiet it, and is checked too. The quick start's demo scripts
are checked with the quick start's outputs, in docs_examples_test.
"""

import os
import re
import subprocess
import sys

import pytest

from albert_tf.cli import quiet_startup
from albert_tf.cli.quiet_startup import verbosity_asked
from cli_helpers import _user_environment
from cli_helpers import run_module
import finetuning_data
import reference_data as ref

# An absl log line: "I1207 03:40:58.798916 140195060620160 file.py:440] ...".
ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]",
                       re.MULTILINE)


def assert_quiet(result):
  """No absl INFO line and no TensorFlow C++ notice on stderr."""
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
  info = [m.group(0) for m in ABSL_LINE.finditer(result.stderr)
          if m.group(1) == "I"]
  assert not info, result.stderr[-3000:]
  noise = [line for line in result.stderr.splitlines()
           if quiet_startup.HARMLESS_LINES.search(line)]
  assert not noise, noise


def assert_verbose(result):
  """absl's INFO log and TensorFlow's C++ start-up notices are back."""
  assert result.returncode == 0, result.stderr[-3000:]
  assert any(m.group(1) == "I" for m in ABSL_LINE.finditer(result.stderr)), (
      result.stderr[-3000:])
  assert quiet_startup.HARMLESS_LINES.search(result.stderr), (
      result.stderr[-3000:])


@pytest.mark.parametrize("argv, asked", [
    (["tool"], False), (["tool", "--verbosity=0"], True),
    (["tool", "-v", "1"], True), (["tool", "--verbosity=-1"], False),
    (["tool", "--verbosity", "2", "--x"], True),
    (["tool", "--", "--verbosity=1"], False), (["tool", "-v=x"], False)])
def test_the_verbosity_flag_is_read_before_flags_are_parsed(argv, asked):
  assert verbosity_asked(argv) == asked


@pytest.fixture(scope="module")
def classifier_job(tmp_path_factory):
  """(flags of a 2-step sst-2 fine-tuning run with evaluation, root)."""
  root = tmp_path_factory.mktemp("quiet")
  data_dir = finetuning_data.write_sst2(str(root / "data"), (16, 8, 4))
  config = finetuning_data.write_tiny_config(str(root / "config.json"))
  return [
      "--task_name=sst-2", f"--data_dir={data_dir}",
      f"--albert_config_file={config}", f"--spm_model_file={ref.SPM_MODEL}",
      "--max_seq_length=16", "--train_batch_size=4", "--eval_batch_size=4",
      "--train_step=2", "--save_checkpoints_steps=2",
      "--iterations_per_loop=1", "--do_train", "--do_eval"], root


def test_fine_tuning_shows_progress_and_results_only(classifier_job):
  flags, root = classifier_job
  result = run_module("albert_tf.run_classifier", *flags,
                      f"--output_dir={root / 'classifier'}")
  assert_quiet(result)
  assert "step 2/2: loss" in result.stdout
  assert "eval accuracy = " in result.stdout
  assert "new best accuracy" in result.stdout


# A task file of the user's own: TensorFlow is imported before albert_tf's
# command line, so only the runtime filter can keep its noise out.
CUSTOM_TASK = """
import tensorflow as tf
from albert_tf.cli import finetuning_flags
from albert_tf.tasks import classification

class MyTask(classification.ClassificationTask):
  pass

if __name__ == "__main__":
  finetuning_flags.main(MyTask)
"""


def test_a_custom_task_keeps_the_runtime_noise_out(classifier_job):
  flags, root = classifier_job
  script = root / "my_task.py"
  script.write_text(CUSTOM_TASK)
  result = subprocess.run(
      [sys.executable, str(script), *flags, f"--output_dir={root / 'mine'}"],
      capture_output=True, text=True, env=_user_environment(), timeout=300,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "eval accuracy = " in result.stdout
  assert "step 2/2: loss" in result.stdout
  # The file's own `import tensorflow` prints TensorFlow's start-up notices
  # before albert_tf runs (docs/add_a_task.md shows the two lines that keep
  # them out too); everything after is albert_tf's to keep quiet.
  assert not [m for m in ABSL_LINE.finditer(result.stderr)
              if m.group(1) == "I"], result.stderr[-3000:]
  for noise in ("Local rendezvous", "{{node ", "GeneratorDataset",
                "cuInit", "buffer_size"):
    assert noise not in result.stderr, result.stderr[-3000:]


@pytest.mark.parametrize("lines, kept", [
    (["I local_rendezvous.cc:407] Local rendezvous is aborting with status: "
      "OUT_OF_RANGE: End of sequence", "\t [[{{node IteratorGetNext}}]]",
      "step 2 eval: {'accuracy': 0.5}", "\tindented text of a real error"],
     ["step 2 eval: {'accuracy': 0.5}", "\tindented text of a real error"]),
    (["error: --data_dir missing", "\tdetail"],
     ["error: --data_dir missing", "\tdetail"]),
])
def test_a_dropped_message_takes_its_continuation_lines(lines, kept):
  line_filter = quiet_startup.LineFilter()
  assert [line for line in lines if line_filter.keep(line)] == kept


def test_conversion_is_quiet_and_verbosity_brings_the_log_back(tmp_path):
  args = [f"--albert_config_file={ref.config_path('google_tiny')}",
          f"--input={os.path.dirname(ref.checkpoint_prefix('google_tiny'))}",
          "--output_format=tf2"]
  quiet = run_module("albert_tf.convert_checkpoint", *args,
                     f"--output={tmp_path / 'quiet' / 'model.ckpt'}")
  assert_quiet(quiet)
  assert "wrote TF2" in quiet.stdout
  verbose = run_module("albert_tf.convert_checkpoint", *args,
                       f"--output={tmp_path / 'verbose' / 'model.ckpt'}",
                       "--verbosity=0")
  assert_verbose(verbose)
  assert "wrote TF2" in verbose.stdout


def test_export_is_quiet(tmp_path):
  import export_fixtures as fx  # pylint: disable=g-import-not-at-top
  result = run_module(
      "tfhub_export.export",
      f"--albert_config_file={ref.config_path('google_tiny')}",
      f"--checkpoint={ref.checkpoint_prefix('google_tiny')}",
      f"--spm_model_file={fx.tokenizer_file('google_tiny')}",
      f"--export_path={tmp_path / 'export'}", "--export_type=serving",
      "--seq_length=16")
  assert_quiet(result)
  assert "wrote " in result.stdout
  assert os.path.exists(tmp_path / "export" / "1" / "saved_model.pb")


def test_data_and_pretraining_tools_are_quiet(tmp_path):
  corpus = tmp_path / "corpus.txt"
  with open(os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt"),
            encoding="utf-8") as f:
    corpus.write_text("".join(f.readlines()[:300]))
  data = run_module(
      "albert_tf.create_pretraining_data", f"--input_file={corpus}",
      f"--output_file={tmp_path / 'data' / 'train'}",
      f"--spm_model_file={ref.SPM_MODEL}", "--max_seq_length=32",
      "--dupe_factor=1")
  assert_quiet(data)
  assert "wrote " in data.stdout
  config = finetuning_data.write_tiny_config(str(tmp_path / "config.json"))
  pretraining = run_module(
      "albert_tf.run_pretraining", f"--albert_config_file={config}",
      f"--input_file={tmp_path / 'data' / 'train'}",
      f"--output_dir={tmp_path / 'pretraining'}", "--do_train",
      "--max_seq_length=32", "--max_predictions_per_seq=20",
      "--train_batch_size=4", "--num_train_steps=2", "--num_warmup_steps=1",
      "--save_checkpoints_steps=2", "--iterations_per_loop=1")
  assert_quiet(pretraining)
  assert "step 2/2 (100.0%)" in pretraining.stdout
  assert "ETA" in pretraining.stdout
  spm = run_module(
      "albert_tf.train_sentencepiece", f"--input={corpus}",
      f"--model_prefix={tmp_path / 'spm' / 'tiny'}", "--vocab_size=300")
  assert_quiet(spm)
  assert "wrote " in spm.stdout
