"""tfhub_export.export's settings: what to export, from where, and how.

The command line (tfhub_export/export.py) is this dataclass through
cli/flag_table; Python callers build it with defaults(**values) and hand it
to tfhub_export/export_job.py.
"""

import dataclasses

from albert_tf import settings as settings_lib
from albert_tf.settings import setting
from albert_tf.tasks import token_serving
from tfhub_export import export_precision
from tfhub_export import tflite_export

EXPORT_TYPES = ("encoder", "preprocessor", "serving", "all", "tflite")
# --finetuned_task: the fine-tuning tool (albert_tf.run_<name>) that made
# --finetuned_dir → the task (module, class) that tool fine-tunes (imported
# by export_job only when needed: an encoder export needs none).
FINETUNED_TASK_CLASSES = {
    "classifier": ("albert_tf.tasks.classification", "ClassificationTask"),
    "token_classification": ("albert_tf.tasks.token_classification",
                             "TokenClassificationTask"),
    "squad": ("albert_tf.tasks.squad.task", "SquadTask"),
    "race": ("albert_tf.tasks.multiple_choice", "MultipleChoiceTask"),
}
FINETUNED_TASKS = tuple(FINETUNED_TASK_CLASSES)


@dataclasses.dataclass
class ExportSettings:
  """tfhub_export.export's flags."""
  albert_config_file: str | None = setting(
      None, "The albert_config.json the checkpoint was trained with.")
  checkpoint: str | None = setting(
      None, "Checkpoint prefix or directory: original TF1, albert_tf's "
      "TF2 format, or a Hugging Face ALBERT directory (whose config.json and "
      "spiece.model then serve as --albert_config_file and --spm_model_file "
      "unless given).")
  spm_model_file: str | None = setting(
      None, "SentencePiece model of the vocabulary.")
  vocab_file: str | None = setting(
      None, "WordPiece vocab.txt (albert_zh), instead of --spm_model_file.")
  do_lower_case: bool = setting(
      True, "Lowercase text before tokenizing, as the checkpoint was "
      "trained.")
  export_path: str | None = setting(None, "Where to write the export.")
  export_type: str = setting("all", "Which SavedModel(s) to write.",
                             choices=EXPORT_TYPES)
  seq_length: int = setting(
      128, "Length the preprocessor and the serving model pack text to.")
  version: int | None = setting(
      None, "Serving model version (default: the next one).")
  overwrite: bool = setting(False, "Replace an existing export.")
  finetuned_dir: str | None = setting(
      None, "Export the best fine-tuned model of this fine-tuning "
      "--output_dir (with --finetuned_task; --export_type=serving or "
      "tflite) instead of --checkpoint's encoder; its sequence length and "
      "the task's export settings (labels, SQuAD's max_answer_length, "
      "RACE's max_qa_length, ...) are the run's, as its manifest records "
      "them.")
  finetuned_task: str | None = setting(
      None, "The tool that fine-tuned --finetuned_dir.",
      choices=FINETUNED_TASKS)
  tflite_quantization: str = setting(
      "none", "--export_type=tflite: none (float32), float16 (float16 "
      "weights) or dynamic_int8 (int8 weights, dynamic-range).",
      choices=tflite_export.QUANTIZATIONS)
  export_precision: str = setting(
      "float32", "What the exported model computes in: float32, or "
      "bfloat16 (float32 inputs and outputs, the same signatures; faster "
      "on CPUs with AMX or AVX512_BF16, see docs/speed.md).",
      choices=export_precision.PRECISIONS)
  max_entities: int = setting(
      token_serving.DEFAULT_MAX_ENTITIES, "--finetuned_task=token_classification: the entities returned "
      "per text (the first ones; the outputs are padded to this many).")


def defaults(**values):
  """export_job.run()'s settings from Python: the flag defaults with
  `values` on top."""
  return settings_lib.defaults(ExportSettings, **values)
