r"""Exports an ALBERT checkpoint as TF Hub SavedModels and for TF Serving.

  python -m tfhub_export.export --albert_config_file=albert_config.json \
      --checkpoint=albert_base/model.ckpt-best --spm_model_file=30k-clean.model \
      --export_path=exports/albert_base --export_type=all

--checkpoint is an original TF1 checkpoint (Google or albert_zh) or one of
albert_tf's TF2 checkpoints; --spm_model_file (SentencePiece) or --vocab_file
(WordPiece vocab.txt) is the tokenizer it was trained with.

--export_type:
  encoder       --export_path is the encoder SavedModel (like TF Hub's
                tensorflow/albert_en_*/3; see tfhub_export/encoder_export.py)
  preprocessor  --export_path is the preprocessing SavedModel (like
                tensorflow/albert_en_preprocess/3)
  serving       --export_path/<version>/ for TF Serving: raw text in,
                pooled_output and sequence_output out
  all           --export_path/{encoder,preprocessor,serving/<version>}
  tflite        --export_path/model.tflite: serving_default as the TF
                Serving export's, tokenizer inside, for the TFLite
                interpreter with TF Text's ops (--tflite_quantization;
                see tfhub_export/tflite_export.py and
                docs/export_and_serving.md)

A fine-tuned model (--finetuned_dir, the --output_dir of run_classifier,
run_token_classification, run_squad or run_race, and --finetuned_task
naming the tool: classifier, token_classification, squad, race;
--export_type=serving) is exported for TF Serving as the tool's own
--export_dir exports it, with the settings the run recorded: label names
and scores for a classifier, the entities of a raw `text` (at most
--max_entities per text) for a tagger, the answer text for SQuAD, the
chosen option for RACE; see docs/finetuning.md. With --export_type=tflite
it is written as --export_path/model.tflite instead (the numeric outputs;
RACE is refused; see docs/export_and_serving.md).

  python -m tfhub_export.export --finetuned_dir=out/dishes \
      --finetuned_task=token_classification --albert_config_file=albert_config.json \
      --spm_model_file=30k-clean.model --export_type=serving \
      --export_path=exports/dishes

--export_precision=bfloat16 computes in bfloat16 inside (weights stay
float32 in the file, cast where used) with float32 inputs and outputs and
the same signatures: for CPU serving on CPUs with native bfloat16 (AMX,
AVX512_BF16), see docs/speed.md.

An existing output is refused unless --overwrite; outputs appear only once
complete (written under a hidden temporary name, then renamed).

The job: tfhub_export/export_job.py (export, export_finetuned, run); its
settings: tfhub_export/export_settings.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position

from albert_tf.cli import flag_table
from tfhub_export.export_job import export
from tfhub_export.export_job import run
from tfhub_export.export_settings import defaults
from tfhub_export.export_settings import ExportSettings

__all__ = ["ExportSettings", "defaults", "define_flags", "export", "run"]


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flag_table.define_flags(ExportSettings)


def main(argv):
  return flag_table.run_job(
      lambda: run(flag_table.settings_from_flags(ExportSettings)), argv)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=flag_table.parse_flags)
