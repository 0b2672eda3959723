"""run_pretraining --init_checkpoint=<Hugging Face directory>, no config."""

import json

import numpy as np
import tensorflow as tf

import reference_data as ref
from albert_tf.checkpoints import format_conversion
from albert_tf.config import AlbertConfig
from run_pretraining_test import final_weights
from run_pretraining_test import train_in_process
from run_pretraining_test import write_records


def test_pretraining_starts_from_an_hf_directory_and_its_config(tmp_path):
  fixture = "google_tiny"
  hf_dir = tmp_path / "hf"
  format_conversion.convert(
      ref.checkpoint_prefix(fixture), str(hf_dir), "hf",
      config=AlbertConfig.from_json_file(ref.config_path(fixture)))
  vocab_size = json.loads((hf_dir / "config.json").read_text())["vocab_size"]
  data = tmp_path / "data"
  data.mkdir()
  write_records(str(data / "train.tfrecord"), 16, seed=0, seq=16, pred=3,
                vocab=vocab_size)
  # No --albert_config_file: the directory's config.json is the config.
  # Warmup makes step 0's learning rate 0: the single step changes nothing.
  train_in_process(data, tmp_path / "out", albert_config_file=None,
                   input_file=data / "train.tfrecord", eval_input_file=None,
                   max_seq_length=16, max_predictions_per_seq=3,
                   num_train_steps=1, num_warmup_steps=5,
                   init_checkpoint=hf_dir)
  original = tf.train.load_checkpoint(ref.checkpoint_prefix(fixture))
  weights = final_weights(tmp_path / "out")
  assert len(weights) == 32
  for name, value in weights.items():
    np.testing.assert_array_equal(value, original.get_tensor(name),
                                  err_msg=name)
