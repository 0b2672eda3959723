"""The flags every fine-tuning entry point shares, named like the original.

Call define_common_flags() inside an entry point's define_flags() (only
under `__main__`, so importing several entry points never defines a flag
twice). --flagfile comes with absl.

Entry points run on any object with these attributes: absl's FLAGS from the
command line, or flag_namespace(...) when called from Python (tests,
notebooks), which starts from the same defaults.
"""

import types

from absl import flags

from albert_tf.training.optimization import OPTIMIZERS
from albert_tf.cli import flag_table
from albert_tf.training import distribution

COMMON_DEFAULTS = {
    "albert_config_file": None,
    "preset": None,
    "vocab_file": None,
    "spm_model_file": None,
    "do_lower_case": True,
    "init_checkpoint": None,
    "output_dir": None,
    "data_dir": None,
    "task_name": None,
    "max_seq_length": 512,
    "do_train": False,
    "do_eval": False,
    "do_predict": False,
    "train_batch_size": 32,
    "eval_batch_size": 8,
    "predict_batch_size": 8,
    "learning_rate": 5e-5,
    "train_step": 1000,
    "warmup_step": 0,
    "save_checkpoints_steps": 1000,
    "keep_checkpoint_max": 5,
    "iterations_per_loop": 1000,
    "optimizer": "adamw",
    "seed": 12345,
    "export_dir": None,
}
# What define_distribution_flags() defines, for flag_namespace().
DISTRIBUTION_DEFAULTS = {
    "distribution_strategy": None, "use_tpu": False, "tpu_name": None,
    "tpu_zone": None, "gcp_project": None, "master": None,
    "num_tpu_cores": 8, "num_gpus": None, "num_cpu_devices": 1,
}

_HELP = {
    "albert_config_file": "The albert_config.json of the pretrained model.",
    "preset": "A named config (see albert_tf.describe) instead of "
              "--albert_config_file.",
    "vocab_file": "WordPiece vocabulary (used when --spm_model_file is not "
                  "given).",
    "spm_model_file": "SentencePiece model.",
    "do_lower_case": "Lower-case the input text.",
    "init_checkpoint": "Pretrained weights: an original TF1 checkpoint, a TF2 "
                       "checkpoint (run_pretraining's output directory or a "
                       "prefix), an encoder SavedModel directory "
                       "(tfhub_export) or a Hugging Face ALBERT directory "
                       "(its config.json and spiece.model then serve as "
                       "--albert_config_file and --spm_model_file unless "
                       "given). Used only when output_dir has no "
                       "checkpoint to resume from.",
    "output_dir": "Where checkpoints, the best checkpoint, evaluation results "
                  "and predictions go.",
    "data_dir": "The task's input files.",
    "task_name": "The task to train.",
    "max_seq_length": "Maximum input length in word pieces, after packing.",
    "do_train": "Fine-tune on the training set.",
    "do_eval": "Evaluate on the dev set (after every checkpoint while "
               "training, keeping the best).",
    "do_predict": "Predict the test set with the best checkpoint.",
    "train_batch_size": "Global training batch size.",
    "eval_batch_size": "Evaluation batch size.",
    "predict_batch_size": "Prediction batch size.",
    "learning_rate": "Peak learning rate.",
    "train_step": "Training steps.",
    "warmup_step": "Linear warmup steps.",
    "save_checkpoints_steps": "Save (and, with --do_eval, evaluate) every "
                              "this many steps.",
    "keep_checkpoint_max": "Training checkpoints kept (the best is kept "
                           "apart).",
    "iterations_per_loop": "Steps per call into the compiled training loop.",
    "optimizer": "lamb or adamw (the original's math).",
    "seed": "Random seed (head initialisation, dropout, shuffling).",
    "export_dir": "Write a TF Serving SavedModel of the best fine-tuned model "
                  "here (serving_default takes raw text).",
}


def define_common_flags(**task_defaults):
  """Defines the shared flags; keyword arguments override defaults per task."""
  defaults = dict(COMMON_DEFAULTS, **task_defaults)
  for name, default in defaults.items():
    if name not in COMMON_DEFAULTS:
      raise ValueError(f"no common flag {name}")
    template = COMMON_DEFAULTS[name]
    if name == "optimizer":
      flags.DEFINE_enum(name, default, list(OPTIMIZERS), _HELP[name])
    elif isinstance(template, bool):
      flags.DEFINE_bool(name, default, _HELP[name])
    elif isinstance(template, int):
      flags.DEFINE_integer(name, default, _HELP[name])
    elif isinstance(template, float):
      flags.DEFINE_float(name, default, _HELP[name])
    else:
      flags.DEFINE_string(name, default, _HELP[name])
  flag_table.define_flags(distribution.DistributionSettings)


def flag_namespace(**values):
  """The common (and distribution) flag defaults with `values` on top."""
  return types.SimpleNamespace(
      **{**COMMON_DEFAULTS, **DISTRIBUTION_DEFAULTS, **values})
