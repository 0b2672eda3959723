r"""The whole mission on CPU in a few minutes: pretrain, export, serve, tag.

  python -m albert_tf.quickstart [--output_dir=albert_quickstart]

Everything it needs ships in the package (albert_tf/quickstart_data/), so
it runs from any directory after `pip install`; nothing is downloaded.

1. corpus: the docstrings of Python's standard library, one document per
   module, written on this machine (the last modules are held out for
   evaluation), and unlabelled generated restaurant reviews;
2. vocabulary: a SentencePiece model trained on it (train_sentencepiece);
3. pretraining data: TFRecords (create_pretraining_data);
4. pretraining: a tiny ALBERT (run_pretraining with the tiny flagfile
   quickstart_data/pretrain_tiny_cpu.flags: LAMB, MLM + SOP), evaluated on
   the held-out modules; the best checkpoint is kept;
5. export: the TF Hub encoder, the preprocessor and the TF Serving model
   (tfhub_export.export, export_type=all);
6. serving demo: a fresh Python that imports only TensorFlow and TF Text
   loads the serving model, answers two raw sentences and fills in a
   masked word through the encoder's `mlm` part;
7. fine-tuning: a dish tagger on generated restaurant reviews
   (run_token_classification; some dishes occur only in dev), its dev span
   F1, and its TF Serving export;
8. tagging demo: a fresh TensorFlow-only Python tags dishes in raw reviews;
then a summary: where everything is, and the commands to serve the models
and to open TensorBoard.

A rerun with the same --output_dir reuses every stage that finished with
the same settings (quickstart_state.json records them); a stage whose
settings changed, and every stage after it, is done again. An interrupted
pretraining or fine-tuning resumes from its last checkpoint.

The job: albert_tf/quickstart_job.py; its settings:
albert_tf/quickstart_settings.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position

from albert_tf.cli import flag_table
from albert_tf.quickstart_job import run
from albert_tf.quickstart_settings import defaults
from albert_tf.quickstart_settings import QuickstartSettings

__all__ = ["QuickstartSettings", "defaults", "run"]


def main(argv):
  return flag_table.run_job(
      lambda: run(flag_table.settings_from_flags(QuickstartSettings)), argv)


if __name__ == "__main__":
  flag_table.define_flags(QuickstartSettings)
  app.run(main, flags_parser=flag_table.parse_flags)
