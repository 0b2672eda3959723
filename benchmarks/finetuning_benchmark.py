"""Fine-tuning speed next to the pretraining step rate, same model and batch.

  python -m benchmarks.finetuning_benchmark --preset=albert_base_v2 \
      --batch_size=8 --seq_length=128 --steps=5

Times (a) a fine-tuning step of run_classifier's model (ClassifierModel:
encoder + dropout + dense, softmax cross-entropy) through the fine-tuning
trainer's compiled orbit loop and (b) a pretraining step of AlbertPretrainer (MLM
+ SOP losses) with the same optimizer (the original LAMB/AdamW, clip 1.0),
learning-rate schedule, batch and sequence length. Random inputs; a few
steps after warm-up, so the numbers are rough.
"""

import json
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from albert_tf.training import optimization
from albert_tf import presets
from benchmarks.encoder_benchmark import random_batch
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.training.finetuning_trainer import FinetuningTrainer
from albert_tf.modeling.losses import pretraining_losses
from albert_tf.modeling import AlbertEncoder
from albert_tf.modeling import AlbertPretrainer


def define_flags():
  flags.DEFINE_string("preset", "albert_base_v2", "Model preset.")
  flags.DEFINE_string("albert_config_file", None, "Or a config file.")
  flags.DEFINE_integer("batch_size", 8, "Examples per step.")
  flags.DEFINE_integer("seq_length", 128, "Sequence length.")
  flags.DEFINE_integer("steps", 5, "Timed steps (after one warm-up call).")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "MLM positions.")
  flags.DEFINE_enum("optimizer", "adamw", list(optimization.OPTIMIZERS),
                    "Optimizer of both steps.")
  flags.DEFINE_bool("json", False, "Print one JSON object.")


def _time(fn, steps):
  fn(1)  # Trace and warm up.
  start = time.perf_counter()
  fn(steps)
  return time.perf_counter() - start


def finetuning_seconds(config, batch, steps, optimizer):
  features = {k: batch[k] for k in ("input_word_ids", "input_mask",
                                     "input_type_ids")}
  labels = {"label_ids": batch["sentence_order_labels"]}
  dataset = tf.data.Dataset.from_tensors((features, labels)).repeat()
  with tempfile.TemporaryDirectory() as output_dir:
    settings = FinetuningSettings(output_dir=output_dir, train_step=100000,
                                  optimizer=optimizer,
                                  train_batch_size=len(batch["input_mask"]))
    trainer = FinetuningTrainer(
        tf.distribute.get_strategy(),
        lambda: ClassifierModel(AlbertEncoder(config), 2),
        classification_loss, settings)
    # orbit's compiled loop of n steps, as FinetuningTrainer.fit runs it.
    trainer.train_dataset = trainer.strategy.experimental_distribute_dataset(
        dataset)
    return _time(lambda n: trainer.train(tf.constant(n))["loss"], steps)


def pretraining_seconds(config, batch, steps, optimizer_name):
  model = AlbertPretrainer(config)
  optimizer = optimization.create_optimizer(optimizer_name, 1e-4, 100000, 0)
  features = {k: batch[k] for k in ("input_word_ids", "input_mask",
                                     "input_type_ids", "masked_lm_positions")}

  @tf.function
  def loop(steps):
    total = tf.constant(0.0)
    for _ in tf.range(steps):
      with tf.GradientTape() as tape:
        outputs = model(features, training=True, heads_only=True)
        loss = pretraining_losses(outputs, batch["masked_lm_ids"],
                                  batch["masked_lm_weights"],
                                  batch["sentence_order_labels"])["total_loss"]
      gradients = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(gradients, model.trainable_variables))
      total += loss
    return total
  return _time(lambda n: float(loop(tf.constant(n))), steps)


def run(config, batch_size, seq_length, steps, predictions, optimizer):
  batch = random_batch(config, batch_size, seq_length, predictions)
  batch = {k: tf.constant(v) for k, v in batch.items()}
  fine = finetuning_seconds(config, batch, steps, optimizer)
  pre = pretraining_seconds(config, batch, steps, optimizer)
  return {
      "batch_size": batch_size, "seq_length": seq_length, "steps": steps,
      "optimizer": optimizer,
      "finetuning_examples_per_s": batch_size * steps / fine,
      "pretraining_examples_per_s": batch_size * steps / pre,
      "finetuning_steps_per_s": steps / fine,
      "pretraining_steps_per_s": steps / pre,
  }


def main(argv):
  del argv
  values = flags.FLAGS
  config = presets.load_config(values.albert_config_file,
                               None if values.albert_config_file
                               else values.preset)
  result = run(config, values.batch_size, values.seq_length, values.steps,
               values.max_predictions_per_seq, values.optimizer)
  if values.json:
    print(json.dumps(result))
    return 0
  print(f"batch {result['batch_size']}, seq {result['seq_length']}, "
        f"{result['optimizer']}, {result['steps']} timed steps")
  print(f"fine-tuning (classifier): {result['finetuning_examples_per_s']:.2f}"
        f" examples/s ({result['finetuning_steps_per_s']:.3f} steps/s)")
  print(f"pretraining (MLM + SOP):  {result['pretraining_examples_per_s']:.2f}"
        f" examples/s ({result['pretraining_steps_per_s']:.3f} steps/s)")
  ratio = (result["finetuning_examples_per_s"] /
           result["pretraining_examples_per_s"])
  print(f"fine-tuning / pretraining: {ratio:.2f}")
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
