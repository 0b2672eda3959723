r"""Pretrains ALBERT (MLM + SOP) with the original flags, on any strategy.

  python -m albert_tf.run_pretraining --flagfile=run_scripts/pretrain_base_tpu.flags

Same flags, defaults and math as the original run_pretraining.py (LAMB or
AdamW, warmup + polynomial decay, clip 1.0), run by orbit on tf.distribute:
`iterations_per_loop` steps per tf.function call, `train_batch_size` is the
global batch. Training resumes by itself from the newest checkpoint in
--output_dir (model weights, optimizer slots, step and input position), so a
preempted job is restarted with the same command.

Writes to --output_dir:
  model.ckpt-<step>     TF2 training checkpoints (keep_checkpoint_max newest)
  model.ckpt-best       best eval masked_lm_accuracy, ORIGINAL variable names
  tf1/model.ckpt-<step> the final model, ORIGINAL variable names
  eval_results.txt, best_checkpoint.json, albert_config.json
  summaries/{train,eval} TensorBoard: losses, accuracies, learning rate,
                        examples/s

Distillation (DistilBERT's recipe): --teacher_checkpoint (a checkpoint
prefix, a run_pretraining --output_dir or a Hugging Face directory) and
--teacher_config_file (default: the config beside it) name a frozen
teacher; the student (--albert_config_file) learns from
  --distillation_alpha (0.5) x T^2 x soft MLM cross-entropy at
      --distillation_temperature T (2.0), over the masked positions
  + (1 - alpha) x the gold MLM loss + the SOP loss
  + --distillation_cosine_weight (1.0) x (1 - cos) between the teacher's and
      the student's final hidden states over the real tokens.
The teacher is loaded once, never trained and not saved in the student's
checkpoints; see docs/pretraining.md.

The job: albert_tf/training/pretraining_job.py (PretrainingJob); its
settings: albert_tf/training/pretraining_settings.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags

from albert_tf.cli import flag_table
from albert_tf.training.pretraining_job import run
from albert_tf.training.pretraining_settings import defaults
from albert_tf.training.pretraining_settings import PretrainingSettings

__all__ = ["PretrainingSettings", "defaults", "define_flags", "run"]


def define_flags(flag_values=flags.FLAGS):
  """The command line of PretrainingSettings."""
  flag_table.define_flags(PretrainingSettings, flag_values)


def main(argv):
  return flag_table.run_job(
      lambda: run(flag_table.settings_from_flags(PretrainingSettings)), argv)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=flag_table.parse_flags)
