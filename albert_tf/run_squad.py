"""Fine-tunes ALBERT on SQuAD v1.1 or v2.0 and predicts answer spans.

  python -m albert_tf.run_squad \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/squad2 \
      --train_file=train-v2.0.json --predict_file=dev-v2.0.json \
      --version_2_with_negative --do_train --do_predict \
      --max_seq_length=384 --doc_stride=128 --max_query_length=64 \
      --train_batch_size=48 --learning_rate=3e-5 --train_step=8144 \
      --warmup_step=814 --save_checkpoints_steps=1000

The data path, heads, decoding and scoring are the original run_squad_v1.py
/ run_squad_v2.py / squad_utils.py (see albert_tf/squad). Training runs on
albert_tf.tasks's trainer (the original optimizer, tf.distribute).
With --do_predict during --do_train every saved checkpoint is scored on
--predict_file (when it has answers) and the best by F1 is kept in
output_dir/best/, as the original kept model.ckpt-best.

Writes to output_dir: train.tf_record (the cached training features),
checkpoints, best/, eval_history.jsonl, and for --do_predict
predictions.json (question id → answer text, "" for no answer),
nbest_predictions.json (the n-best texts with probability and start/end
scores), for v2 null_odds.json (question id → null score; "" is predicted
when it is ≥ the threshold) and, when the predict file has answers,
eval_results.txt (official EM/F1; for v2 with the tuned
null_score_diff_threshold). --export_dir writes a TF Serving model whose
serving_default takes text_a (question) and text_b (context), packed into
one window, and returns the head's outputs, input_word_ids, p_mask and the
answer decoded in graph (answer_text, answer_start, answer_end,
answer_score; see albert_tf/tasks/squad/serving.py and SERVING_OUTPUTS).
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import os
import random

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from albert_tf.tasks import feature_cache
from albert_tf.tasks import runner
from albert_tf.cli.finetuning_flags import define_common_flags
from albert_tf.cli.finetuning_flags import flag_namespace
from albert_tf.training.finetuning_trainer import Trainer
from albert_tf.training.finetuning_trainer import TrainingSettings
from albert_tf.tasks.squad import evaluation
from albert_tf.tasks.squad import examples as squad_examples
from albert_tf.tasks.squad import window_features as squad_features
from albert_tf.tasks.squad import postprocessing
from albert_tf.tasks.squad.heads import squad_v1_loss
from albert_tf.tasks.squad.heads import squad_v2_loss
from albert_tf.tasks.squad.model import SquadModel
from albert_tf.tasks.squad.serving import SquadServingModel

# The original run_squad defaults for the SQuAD-specific flags.
SQUAD_DEFAULTS = {
    "train_file": None,
    "predict_file": None,
    "doc_stride": 128,
    "max_query_length": 64,
    "n_best_size": 20,
    "max_answer_length": 30,
    "version_2_with_negative": False,
    "start_n_top": 5,
    "end_n_top": 5,
    "dropout_prob": 0.1,
    "num_train_epochs": None,
    "warmup_proportion": None,
    "null_score_diff_threshold": None,
}
_ANSWER_OUTPUTS = ("answer_text", "answer_start", "answer_end",
                   "answer_score", "input_word_ids", "p_mask")
SERVING_OUTPUTS = {
    False: ("start_logits", "end_logits") + _ANSWER_OUTPUTS,
    True: ("start_logits", "start_top_log_probs", "start_top_index",
           "end_top_log_probs", "end_top_index", "cls_logits") +
          _ANSWER_OUTPUTS,
}
TRAIN_RECORD = "train.tf_record"
LABEL_KEYS = ("start_positions", "end_positions", "is_impossible")


def define_flags():
  define_common_flags(max_seq_length=384, learning_rate=5e-5,
                      train_batch_size=32, predict_batch_size=8)
  flags.DEFINE_string("train_file", None,
                      "SQuAD json for training, e.g. train-v1.1.json.")
  flags.DEFINE_string("predict_file", None,
                      "SQuAD json to predict (and score when it has "
                      "answers), e.g. dev-v1.1.json.")
  flags.DEFINE_integer("doc_stride", 128, "Stride between the windows of a "
                       "long paragraph, in pieces.")
  flags.DEFINE_integer("max_query_length", 64,
                       "Questions are cut to this many pieces.")
  flags.DEFINE_integer("n_best_size", 20, "Answers kept in "
                       "nbest_predictions.json (and candidates per window).")
  flags.DEFINE_integer("max_answer_length", 30,
                       "Longest answer predicted, in pieces.")
  flags.DEFINE_bool("version_2_with_negative", False,
                    "SQuAD v2.0: questions may have no answer; uses the v2 "
                    "head (start, end conditioned on start, answer class).")
  flags.DEFINE_integer("start_n_top", 5, "v2 beam size for start positions.")
  flags.DEFINE_integer("end_n_top", 5, "v2 beam size for end positions.")
  flags.DEFINE_float("dropout_prob", 0.1, "Dropout of the v2 answer-class "
                     "layer.")
  flags.DEFINE_float("num_train_epochs", None, "As the original: sets "
                     "--train_step to examples / train_batch_size × epochs.")
  flags.DEFINE_float("warmup_proportion", None, "As the original: sets "
                     "--warmup_step to this fraction of the training steps.")
  flags.DEFINE_float("null_score_diff_threshold", None,
                     "v2: predict \"\" when the null score is at least this. "
                     "Default: tuned on --predict_file for best F1 when it "
                     "has answers (the original), else the threshold of the "
                     "best checkpoint's evaluation, else 0.")


def defaults(**values):
  """run()'s arguments from Python: the flag defaults with `values` on top."""
  merged = dict(SQUAD_DEFAULTS, max_seq_length=384)
  merged.update(values)
  return flag_namespace(**merged)


def _check_flags(values):
  runner.check_common_flags(values, needs_data_dir=False)
  if values.do_train and not values.train_file:
    raise runner.FlagError("--do_train needs --train_file")
  if (values.do_predict or values.do_eval) and not values.predict_file:
    raise runner.FlagError("--do_predict needs --predict_file")
  for name in ("train_file", "predict_file"):
    path = getattr(values, name)
    if path and (values.do_train if name == "train_file" else
                 values.do_predict or values.do_eval) and (
                     not tf.io.gfile.exists(path)):
      raise runner.FlagError(f"--{name} {path} does not exist")
  if values.max_seq_length <= values.max_query_length + 3:
    raise runner.FlagError(
        f"--max_seq_length ({values.max_seq_length}) must be greater than "
        f"--max_query_length ({values.max_query_length}) + 3")
  for name in ("doc_stride", "n_best_size", "max_answer_length",
               "start_n_top", "end_n_top"):
    if getattr(values, name) < 1:
      raise runner.FlagError(f"--{name} must be positive")
  if values.version_2_with_negative and max(
      values.start_n_top, values.end_n_top) > values.max_seq_length:
    raise runner.FlagError("--start_n_top/--end_n_top exceed max_seq_length")


def _has_gold_answers(dataset):
  return any(qa.get("answers") for article in dataset
             for paragraph in article["paragraphs"] for qa in paragraph["qas"])


class SquadRun:
  """One run_squad invocation (an object, so tests can look inside)."""

  def __init__(self, values):
    _check_flags(values)
    self.values = values
    self.is_v2 = bool(values.version_2_with_negative)
    self.config = runner.load_config(values)
    self.tokenizer = runner.make_tokenizer(values)
    runner.check_vocab_fits(self.tokenizer, self.config)
    os.makedirs(values.output_dir, exist_ok=True)
    self._train_examples = None
    if values.do_train:
      self._train_examples = squad_examples.read_squad_examples(
          values.train_file, is_training=True,
          version_2_with_negative=self.is_v2)
      if not self._train_examples:
        raise squad_examples.SquadDataError(
            f"{values.train_file} has no questions")
      self._set_steps_from_epochs(len(self._train_examples))
    runner.set_seed(values.seed)
    strategy = runner.strategy_from_flags(values)
    config, is_v2 = self.config, self.is_v2

    def build_model():
      model = SquadModel(config, version_2_with_negative=is_v2,
                         start_n_top=values.start_n_top,
                         end_n_top=values.end_n_top,
                         dropout_prob=values.dropout_prob)
      return model.build_for_inputs()

    self.trainer = Trainer(strategy, build_model,
                           self._loss_fn(), TrainingSettings.from_flags(values))
    self._predict_data = None

  def _set_steps_from_epochs(self, num_examples):
    """--num_train_epochs / --warmup_proportion as the original computes."""
    values = self.values
    if values.num_train_epochs:
      values.train_step = max(1, int(
          num_examples / values.train_batch_size * values.num_train_epochs))
    if values.warmup_proportion is not None:
      values.warmup_step = int(values.train_step * values.warmup_proportion)
    TrainingSettings.from_flags(values).validate()

  def _loss_fn(self):
    if self.is_v2:
      return lambda labels, outputs: squad_v2_loss(
          outputs, labels["start_positions"], labels["end_positions"],
          labels["is_impossible"])
    return lambda labels, outputs: squad_v1_loss(
        outputs, labels["start_positions"], labels["end_positions"])

  def _spec(self):
    length = self.values.max_seq_length
    spec = {name: ([length], tf.int32) for name in
            ("input_word_ids", "input_mask", "input_type_ids", "p_mask")}
    spec.update({name: ([], tf.int64) for name in LABEL_KEYS})
    return spec

  def _features(self, examples, is_training):
    values = self.values
    return squad_features.convert_examples_to_features(
        examples, self.tokenizer, values.max_seq_length, values.doc_stride,
        values.max_query_length, is_training,
        do_lower_case=values.do_lower_case)

  def _train_dataset(self):
    values = self.values
    examples = list(self._train_examples)
    # The original pre-shuffles the examples (shuffle buffer is only 100).
    random.Random(values.seed).shuffle(examples)

    def make():
      for feature in self._features(examples, is_training=True):
        yield {"input_word_ids": feature.input_ids,
               "input_mask": feature.input_mask,
               "input_type_ids": feature.segment_ids,
               "p_mask": feature.p_mask,
               "start_positions": feature.start_position,
               "end_positions": feature.end_position,
               "is_impossible": int(feature.is_impossible)}

    path = os.path.join(values.output_dir, TRAIN_RECORD)
    key = {"input": feature_cache.file_signature(values.train_file),
           "max_seq_length": values.max_seq_length,
           "doc_stride": values.doc_stride,
           "max_query_length": values.max_query_length,
           "vocab": values.spm_model_file or values.vocab_file,
           "do_lower_case": values.do_lower_case,
           "version_2_with_negative": self.is_v2, "seed": values.seed}
    count = feature_cache.cached_records(path, key, make, self._spec())
    if not count:
      raise squad_examples.SquadDataError(
          f"{values.train_file}: no training features (every paragraph "
          "failed to align with its pieces)")
    logging.info("%d training features from %d questions", count,
                 len(examples))
    dataset = feature_cache.records_dataset(
        path, self._spec(), values.train_batch_size, True,
        label_keys=LABEL_KEYS, seed=values.seed)
    if self.is_v2:
      # The v2 end logits are conditioned on the gold start in training.
      dataset = dataset.map(lambda f, l: (
          dict(f, start_positions=l["start_positions"]), l))
    return dataset

  def _load_predict_data(self):
    if self._predict_data is None:
      values = self.values
      dataset_json = squad_examples.load_squad_json(values.predict_file)
      examples = squad_examples.read_squad_examples(
          values.predict_file, is_training=False,
          version_2_with_negative=self.is_v2)
      features = self._features(examples, is_training=False)
      arrays = squad_features.features_to_arrays(features, is_training=False)
      self._predict_data = (dataset_json, examples, features, arrays)
    return self._predict_data

  def _raw_results(self, features, arrays):
    if not features:
      return []
    inputs = {k: v for k, v in arrays.items() if k != "unique_ids"}
    dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(
        self.values.predict_batch_size)
    if self.is_v2:
      keys = ("start_top_log_probs", "start_top_index", "end_top_log_probs",
              "end_top_index", "cls_logits")
      out = self.trainer.predict(dataset, output_keys=keys)
      return [postprocessing.RawResultV2(
          unique_id=f.unique_id,
          start_top_log_probs=out["start_top_log_probs"][i].tolist(),
          start_top_index=out["start_top_index"][i].tolist(),
          end_top_log_probs=out["end_top_log_probs"][i].tolist(),
          end_top_index=out["end_top_index"][i].tolist(),
          cls_logits=float(out["cls_logits"][i]))
              for i, f in enumerate(features)]
    out = self.trainer.predict(dataset,
                               output_keys=("start_logits", "end_logits"))
    return [postprocessing.RawResult(
        unique_id=f.unique_id,
        start_log_prob=out["start_logits"][i].tolist(),
        end_log_prob=out["end_logits"][i].tolist())
            for i, f in enumerate(features)]

  def predict_and_evaluate(self, write_files=False):
    """Decodes --predict_file with the model as it is now.

    Returns (metrics or None when the file has no answers, predictions).
    """
    values = self.values
    dataset_json, examples, features, arrays = self._load_predict_data()
    results = self._raw_results(features, arrays)
    has_gold = _has_gold_answers(dataset_json)
    metrics = None
    null_odds = None
    if not self.is_v2:
      predictions, nbest = postprocessing.decode_predictions_v1(
          examples, features, results, values.n_best_size,
          values.max_answer_length)
      if has_gold:
        metrics = evaluation.evaluate_v1(dataset_json, predictions)
    else:
      def decode(threshold):
        return postprocessing.decode_predictions_v2(
            examples, features, results, values.n_best_size,
            values.max_answer_length, values.start_n_top, values.end_n_top,
            threshold)
      threshold = values.null_score_diff_threshold
      if threshold is None and has_gold:
        metrics, predictions, nbest, null_odds = (
            evaluation.evaluate_v2_with_threshold(dataset_json, decode))
      else:
        if threshold is None:
          threshold = self._saved_threshold()
        predictions, nbest, null_odds = decode(threshold)
        if has_gold:
          metrics = evaluation.evaluate_v2(dataset_json, predictions,
                                           null_odds)
          metrics["null_score_diff_threshold"] = threshold
    if write_files:
      postprocessing.write_prediction_files(values.output_dir, predictions,
                                            nbest, null_odds)
    return metrics, predictions

  def _saved_threshold(self):
    best = self.trainer.best_metrics()
    if best and "null_score_diff_threshold" in best.get("metrics", {}):
      return best["metrics"]["null_score_diff_threshold"]
    return 0.0

  def evaluate(self):
    metrics, _ = self.predict_and_evaluate()
    return metrics or {}

  def train(self):
    values = self.values
    logging.info(self.trainer.restore_or_initialize(
        runner.make_init_fn(values.init_checkpoint)))
    evaluate_fn = None
    if (values.do_predict or values.do_eval) and _has_gold_answers(
        self._load_predict_data()[0]):
      evaluate_fn = self.evaluate
    return self.trainer.train(self._train_dataset(), evaluate_fn,
                              "f1" if evaluate_fn else None)

  def export(self):
    threshold = self.values.null_score_diff_threshold
    if threshold is None:
      threshold = self._saved_threshold()
    model = SquadServingModel(
        self.trainer.model, self.tokenizer,
        max_answer_length=self.values.max_answer_length,
        null_score_diff_threshold=threshold)
    return runner.export_serving(model, SERVING_OUTPUTS[self.is_v2],
                                 self.values)


def run(values):
  """Does what the flags ask; returns the SquadRun."""
  job = SquadRun(values)
  if values.do_train:
    job.train()
  if values.do_predict or values.do_eval or values.export_dir:
    logging.info("using %s", job.trainer.load_for_inference())
  if values.do_predict or values.do_eval:
    metrics, _ = job.predict_and_evaluate(write_files=True)
    print(f"wrote {os.path.join(values.output_dir, 'predictions.json')}")
    if metrics is not None:
      runner.write_eval_results(
          os.path.join(values.output_dir, "eval_results.txt"), metrics)
      for key, value in sorted(metrics.items()):
        print(f"eval {key} = {value}")
  if values.export_dir:
    print(f"exported {job.export()}")
  return job


def main(argv):
  del argv
  return runner.run_main(lambda values: run(values) and 0, flags.FLAGS)


if __name__ == "__main__":
  define_flags()
  app.run(main)
