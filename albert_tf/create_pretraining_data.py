r"""Creates ALBERT pretraining TFRecords from text, at corpus scale.

  python -m albert_tf.create_pretraining_data --input_file='corpus/*.txt' \
      --output_file=data/train.tfrecord --spm_model_file=30k-clean.model \
      --output_shards=64 --num_workers=8

Input: UTF-8 text, one sentence per line, blank lines between documents
(a file's end also ends a document). Output: TFRecords with exactly the
original features (input_ids, input_mask, segment_ids, token_boundary,
masked_lm_positions, masked_lm_ids, masked_lm_weights, next_sentence_labels),
readable by the original run_pretraining and by ours.

Same algorithm and flag defaults as the original, with these differences:
documents are streamed (memory stays bounded: one document, a pool of
--document_pool_size documents for "random document" segments, and
--shuffle_buffer_size serialized examples per worker); output is sharded
(document i goes to shard i mod --output_shards) and shards are written by
--num_workers processes; every random choice is seeded per shard, so the
same --random_seed gives byte-identical files whatever --num_workers is.
Each shard is written under a temporary name and renamed when complete; a
rerun skips shards that already exist (pass --overwrite to redo them).
.OUTPUT_FILE.stats.json sums what was made (documents, instances, masked
tokens, skipped lines), per shard and in total. .OUTPUT_FILE.manifest.json
records the settings that shape the records, the corpus included: a rerun
with other flags, or after the corpus changed, is refused (naming them)
before it writes anything, unless --overwrite; one run at a time writes an
output (a lock file beside it). Sidecars and temporaries are hidden, so the
pattern OUTPUT_FILE* matches complete shards only.

Beyond one machine: --runner=DataflowRunner (or FlinkRunner, SparkRunner,
PortableRunner, DirectRunner) runs the same generation as an Apache Beam
pipeline (pip install 'albert_tf[beam]') and writes the same files, byte
for byte; flags this tool does not define are Beam pipeline options:

  python -m albert_tf.create_pretraining_data \
      --input_file='gs://bucket/corpus/*.txt' \
      --output_file=gs://bucket/data/train.tfrecord --output_shards=1024 \
      --spm_model_file=gs://bucket/30k-clean.model --runner=DataflowRunner \
      --project=my-project --region=us-central1 \
      --temp_location=gs://bucket/tmp --setup_file=./setup.py

See docs/pretraining_data.md. The job:
albert_tf/pretraining_data/data_generation_job.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position

from albert_tf.cli import flag_table
from albert_tf.pretraining_data.data_generation_job import run
from albert_tf.pretraining_data.data_generation_settings import DataGenerationSettings
from albert_tf.pretraining_data.data_generation_settings import defaults

__all__ = ["DataGenerationSettings", "defaults", "define_flags", "run"]


def define_flags():
  """The command line of DataGenerationSettings."""
  flag_table.define_flags(DataGenerationSettings)


def parse_flags(argv):
  """Parses our flags; returns [program] + the flags left for Beam."""
  return flag_table.parse_flags(argv, known_only=True)


def main(argv):
  return flag_table.run_job(
      lambda: run(flag_table.settings_from_flags(DataGenerationSettings),
                  pipeline_args=argv[1:]))


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
