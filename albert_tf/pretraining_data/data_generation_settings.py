"""create_pretraining_data's settings: the original's flags (same names and
defaults) and ours. albert_tf/create_pretraining_data.py is their command
line; data_generation_job.run(settings) does what they ask."""

import dataclasses

from albert_tf import settings as settings_lib
from albert_tf.settings import setting


@dataclasses.dataclass
class DataGenerationSettings:
  """The original's flags (same names and defaults) and ours."""
  input_file: str | None = setting(
      None, "Input text files: comma-separated globs.")
  output_file: str | None = setting(
      None, "Output TFRecord (or shard prefix with --output_shards > 1).")
  vocab_file: str | None = setting(None, "WordPiece vocab.txt.")
  spm_model_file: str | None = setting(None, "SentencePiece model.")
  do_lower_case: bool = setting(True, "Lowercase the input text.")
  do_whole_word_mask: bool = setting(True, "Mask whole words.")
  do_permutation: bool = setting(
      False, "The original's unused permutation mode (unsupported).")
  favor_shorter_ngram: bool = setting(
      True, "n-gram length n drawn with p ∝ 1/n (else reversed).")
  random_next_sentence: bool = setting(
      False, "Classic NSP instead of sentence-order prediction.")
  max_seq_length: int = setting(512, "Maximum sequence length.")
  ngram: int = setting(3, "Maximum n-gram length to mask.")
  max_predictions_per_seq: int = setting(
      20, "Maximum masked positions per sequence.")
  random_seed: int = setting(12345, "Seed of all random choices.")
  dupe_factor: int = setting(
      40, "Times each document is used, masked differently.")
  masked_lm_prob: float = setting(0.15, "Masked LM probability.")
  short_seq_prob: float = setting(
      0.1, "Probability of a shorter-than-maximum sequence.")
  zh_whole_word_mask: bool = setting(
      False, "Chinese whole-word masking: segment words with jieba "
      "(pip install 'albert_tf[zh]'); WordPiece vocabs only.")
  output_shards: int = setting(1, "Number of output files.")
  num_workers: int = setting(1, "Processes writing shards.")
  document_pool_size: int = setting(
      1000, "Documents kept per shard for random segments.")
  shuffle_buffer_size: int = setting(
      10000, "Examples shuffled per shard before writing.")
  overwrite: bool = setting(False, "Regenerate shards that exist.")
  runner: str | None = setting(
      None, "Run as an Apache Beam pipeline on this runner (DirectRunner, "
      "DataflowRunner, FlinkRunner, SparkRunner, PortableRunner; pip install "
      "'albert_tf[beam]'); flags not defined here (--project, --region, "
      "--temp_location, --direct_num_workers, ...) go to Beam. Same output "
      "files as without it.")

  def generation_config(self):
    """The GenerationConfig (algorithm settings) these flags describe."""
    # pylint: disable=g-import-not-at-top
    from albert_tf.pretraining_data.generator import GenerationConfig
    from albert_tf.pretraining_data.masking import MaskingConfig
    return GenerationConfig(
        max_seq_length=self.max_seq_length, dupe_factor=self.dupe_factor,
        short_seq_prob=self.short_seq_prob,
        random_next_sentence=self.random_next_sentence,
        random_seed=self.random_seed,
        masking=MaskingConfig(
            masked_lm_prob=self.masked_lm_prob,
            max_predictions_per_seq=self.max_predictions_per_seq,
            ngram=self.ngram, do_whole_word_mask=self.do_whole_word_mask,
            favor_shorter_ngram=self.favor_shorter_ngram),
        document_pool_size=self.document_pool_size,
        shuffle_buffer_size=self.shuffle_buffer_size)

  def tokenizer_args(self):
    return dict(vocab_file=self.vocab_file,
                spm_model_file=self.spm_model_file,
                do_lower_case=self.do_lower_case,
                zh_whole_word_mask=self.zh_whole_word_mask)


def defaults(**values):
  """The settings from Python: the flag defaults with `values` on top."""
  return settings_lib.defaults(DataGenerationSettings, **values)
