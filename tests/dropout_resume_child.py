"""Child process of dropout_resume_test: N steps, a checkpoint, M more.

Run as `python dropout_resume_child.py WORK_DIR`; prints one JSON line
{case: {...}} to stdout. A process of its own: the host CPU is split into
2 logical devices (for the 2-replica case), which must happen before
TensorFlow starts.

Every case fine-tunes a tiny classifier with dropout on everywhere it
exists (encoder hidden and attention-probability dropout, and the head's
0.1) through FinetuningTrainer, as run_classifier does:

  straight  N + M steps, a checkpoint every N (so one at step N);
  resumed   a fresh trainer and model on a copy of the straight run's
            output_dir holding only checkpoint N (as if killed after it),
            trained to N + M.

and reports the largest difference between the two final checkpoints
(weights and optimizer slots). The tagger cases fine-tune a token
classifier instead, with and without input masking (tasks/input_masking:
word pieces replaced by [MASK] in training, drawn like the dropout masks).
"""

import json
import os
import shutil
import sys

from albert_tf.training import distribution

distribution.configure_cpu_devices(2)

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position
import tf_keras  # pylint: disable=g-import-not-at-top,wrong-import-position

from albert_tf.modeling.albert_encoder import AlbertEncoder  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import classifier_model  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import input_masking  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import token_classifier_model  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks.finetuning_settings import FinetuningSettings  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.training.finetuning_trainer import FinetuningTrainer  # pylint: disable=g-import-not-at-top,wrong-import-position

# Dropout as in the v1 configs; the head's is the original 0.1.
CONFIG = {
    "attention_probs_dropout_prob": 0.1, "embedding_size": 8,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 32,
    "max_position_embeddings": 16, "num_attention_heads": 2,
    "num_hidden_groups": 1, "num_hidden_layers": 2, "type_vocab_size": 2,
    "vocab_size": 40}
SEQ = 8
BATCH = 8
FIRST = 3  # N: steps before the checkpoint resumed from.
MORE = 3  # M: steps after it.
SEED = 7

CASES = {
    "plain": dict(),
    "recompute_block": dict(recompute_activations="block"),
    "accumulation_2": dict(gradient_accumulation_steps=2),
    "replicas_2": dict(replicas=2),
    "tagger": dict(tagger=True),
    "tagger_input_masking": dict(tagger=True, masking_rate=0.3),
}
MASK_ID, CLS_ID = 4, 2


def dataset(tagger=False):
  rng = np.random.default_rng(0)
  count = 64
  ids = rng.integers(5, CONFIG["vocab_size"], size=[count, SEQ])
  ids[:, 0] = CLS_ID
  features = {"input_word_ids": ids.astype(np.int32),
              "input_mask": np.ones([count, SEQ], np.int32),
              "input_type_ids": np.zeros([count, SEQ], np.int32)}
  labels = {"label_ids": (ids[:, 1] > 20).astype(np.int32)}
  if tagger:  # A tag per piece, none on [CLS].
    tags = (ids > 20).astype(np.int32)
    tags[:, 0] = -1
    labels = {"label_ids": tags}
  return (tf.data.Dataset.from_tensor_slices((features, labels))
          .shuffle(count, seed=SEED).repeat()
          .batch(BATCH, drop_remainder=True))


def train(output_dir, recompute_activations="none",
          gradient_accumulation_steps=1, replicas=1, tagger=False,
          masking_rate=0.0):
  """Trains (or resumes) to FIRST + MORE steps in output_dir, the way the
  fine-tuning runner does (the seed set first)."""
  tf_keras.utils.set_random_seed(SEED)
  if replicas == 1:
    strategy = tf.distribute.OneDeviceStrategy("CPU:0")
  else:
    strategy = tf.distribute.MirroredStrategy(
        [f"CPU:{i}" for i in range(replicas)])
  settings = FinetuningSettings(
      output_dir=output_dir, train_step=FIRST + MORE, warmup_step=1,
      learning_rate=1e-2, train_batch_size=BATCH,
      save_checkpoints_steps=FIRST, iterations_per_loop=FIRST,
      gradient_accumulation_steps=gradient_accumulation_steps,
      recompute_activations=recompute_activations, seed=SEED)

  def build_model():
    encoder = AlbertEncoder(CONFIG,
                            recompute_activations=recompute_activations)
    if tagger:
      masking = (input_masking.InputMasking(masking_rate, MASK_ID,
                                            keep_ids=(CLS_ID,))
                 if masking_rate else None)
      return token_classifier_model.TokenClassifierModel(
          encoder, 2, input_masking=masking)
    return classifier_model.ClassifierModel(encoder, 2)

  loss = (token_classifier_model.token_classification_loss if tagger
          else classifier_model.classification_loss)
  trainer = FinetuningTrainer(strategy, build_model, loss, settings)
  trainer.restore_or_initialize()
  trainer.fit(dataset(tagger))


def checkpoint_tensors(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if not name.startswith(("save_counter", "_CHECKPOINTABLE"))}


def keep_only_checkpoint(output_dir, step):
  """output_dir as a run killed after checkpoint `step` left it."""
  for name in os.listdir(output_dir):
    if name.startswith("model.ckpt-") and not name.startswith(
        f"model.ckpt-{step}."):
      os.remove(os.path.join(output_dir, name))
  tf.compat.v1.train.update_checkpoint_state(
      output_dir, os.path.join(output_dir, f"model.ckpt-{step}"))


def main(work_dir):
  results = {}
  final = f"model.ckpt-{FIRST + MORE}"
  for case, options in CASES.items():
    straight = os.path.join(work_dir, case, "straight")
    train(straight, **options)
    resumed = os.path.join(work_dir, case, "resumed")
    shutil.copytree(straight, resumed)
    keep_only_checkpoint(resumed, FIRST)
    train(resumed, **options)
    expected = checkpoint_tensors(os.path.join(straight, final))
    got = checkpoint_tensors(os.path.join(resumed, final))
    assert sorted(got) == sorted(expected), (sorted(got), sorted(expected))
    results[case] = {
        "max_difference": max(float(np.abs(got[n] - expected[n]).max())
                              for n in expected),
        "weights": {n: expected[n].tolist() for n in expected
                    if "/.OPTIMIZER_SLOT/" not in n}}
  print(json.dumps(results))


if __name__ == "__main__":
  main(sys.argv[1])
