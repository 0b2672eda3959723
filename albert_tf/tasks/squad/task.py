"""SQuAD v1.1 / v2.0: answer spans, faithful to the original run_squad.

The data path, heads, decoding and scoring are the original run_squad_v1.py
/ run_squad_v2.py / squad_utils.py (examples.py, window_features.py,
heads.py / model.py, postprocessing.py, evaluation.py). The splits are
"train" (--train_file) and "predict" (--predict_file): with --do_predict
(or --do_eval) every saved checkpoint is scored on --predict_file when it
has answers, and the best by F1 is kept, as the original kept
model.ckpt-best.

Writes to output_dir: train.tf_record (the cached training features),
predictions.json, nbest_predictions.json, for v2 null_odds.json and, when
the predict file has answers, eval_results.txt (official EM/F1; for v2 with
the tuned null_score_diff_threshold). The export decodes the answer in graph
(serving.py).
"""

import dataclasses
import random

from absl import logging
import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.settings import setting
from albert_tf.tasks import base_task
from albert_tf.tasks import feature_cache
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.tasks.finetuning_settings import task_default
from albert_tf.tasks.squad import evaluation
from albert_tf.tasks.squad import examples as squad_examples
from albert_tf.tasks.squad import postprocessing
from albert_tf.tasks.squad import window_features
from albert_tf.tasks.squad.heads import squad_v1_loss
from albert_tf.tasks.squad.heads import squad_v2_loss
from albert_tf.tasks.squad.model import SquadModel
from albert_tf.tasks.squad.serving import SquadServingModel
from albert_tf.training import distillation_loss
from albert_tf.training import finetuning_trainer

PREDICT = "predict"
TRAIN_RECORD = "train.tf_record"
LABEL_KEYS = ("start_positions", "end_positions", "is_impossible")
_V2_OUTPUTS = ("start_top_log_probs", "start_top_index", "end_top_log_probs",
               "end_top_index", "cls_logits")
_ANSWER_OUTPUTS = ("answer_text", "answer_start", "answer_end",
                   "answer_score", "input_word_ids", "p_mask")
SERVING_OUTPUTS = {
    False: ("start_logits", "end_logits") + _ANSWER_OUTPUTS,
    True: ("start_logits",) + _V2_OUTPUTS + _ANSWER_OUTPUTS,
}


@dataclasses.dataclass
class SquadSettings(FinetuningSettings):
  """run_squad: the common settings plus the original run_squad flags."""
  max_seq_length: int = task_default("max_seq_length", 384)
  train_file: str | None = setting(
      None, "SQuAD json for training, e.g. train-v1.1.json.")
  predict_file: str | None = setting(
      None, "SQuAD json to predict (and score when it has answers), e.g. "
      "dev-v1.1.json.")
  doc_stride: int = setting(
      128, "Stride between the windows of a long paragraph, in pieces.")
  max_query_length: int = setting(
      64, "Questions are cut to this many pieces.")
  n_best_size: int = setting(
      20, "Answers kept in nbest_predictions.json (and candidates per "
      "window).")
  max_answer_length: int = setting(
      30, "Longest answer predicted, in pieces.")
  version_2_with_negative: bool = setting(
      False, "SQuAD v2.0: questions may have no answer; uses the v2 head "
      "(start, end conditioned on start, answer class).")
  start_n_top: int = setting(5, "v2 beam size for start positions.")
  end_n_top: int = setting(5, "v2 beam size for end positions.")
  dropout_prob: float = setting(
      0.1, "Dropout of the v2 answer-class layer.")
  num_train_epochs: float | None = setting(
      None, "As the original: sets --train_step to examples / "
      "train_batch_size × epochs.")
  warmup_proportion: float | None = setting(
      None, "As the original: sets --warmup_step to this fraction of the "
      "training steps.")
  null_score_diff_threshold: float | None = setting(
      None, "v2: predict \"\" when the null score is at least this. "
      "Default: tuned on --predict_file for best F1 when it has answers "
      "(the original), else the threshold of the best checkpoint's "
      "evaluation, else 0.")

  def check(self, needs_data_dir=False):
    super().check(needs_data_dir=False)
    predicts = self.do_predict or self.do_eval
    if self.do_train and not self.train_file:
      raise FlagError("--do_train needs --train_file")
    if predicts and not self.predict_file:
      raise FlagError("--do_predict needs --predict_file")
    for name, used in (("train_file", self.do_train),
                       ("predict_file", predicts)):
      path = getattr(self, name)
      if path and used and not tf.io.gfile.exists(path):
        raise FlagError(f"--{name} {path} does not exist")
    if self.max_seq_length <= self.max_query_length + 3:
      raise FlagError(
          f"--max_seq_length ({self.max_seq_length}) must be greater than "
          f"--max_query_length ({self.max_query_length}) + 3")
    for name in ("doc_stride", "n_best_size", "max_answer_length",
                 "start_n_top", "end_n_top"):
      if getattr(self, name) < 1:
        raise FlagError(f"--{name} must be positive")
    if self.version_2_with_negative and max(
        self.start_n_top, self.end_n_top) > self.max_seq_length:
      raise FlagError("--start_n_top/--end_n_top exceed max_seq_length")

  def check_before_data(self):
    # --num_train_epochs / --warmup_proportion make the steps from the
    # number of questions: checked once the train file is read.
    if self.num_train_epochs or self.warmup_proportion is not None:
      return
    self.check_training()

  def with_steps_from_epochs(self, num_examples):
    """--num_train_epochs / --warmup_proportion as the original computes."""
    train_step = self.train_step
    if self.num_train_epochs:
      train_step = max(1, int(
          num_examples / self.train_batch_size * self.num_train_epochs))
    warmup_step = self.warmup_step
    if self.warmup_proportion is not None:
      warmup_step = int(train_step * self.warmup_proportion)
    resolved = dataclasses.replace(self, train_step=train_step,
                                   warmup_step=warmup_step)
    resolved.check_training()
    return resolved


def _has_gold_answers(dataset):
  return any(qa.get("answers") for article in dataset
             for paragraph in article["paragraphs"] for qa in paragraph["qas"])


class SquadTask(base_task.FinetuningTask):
  """Extractive question answering (v1: start/end; v2: + no answer)."""

  settings_class = SquadSettings
  label_keys = LABEL_KEYS
  best_metric = "f1"
  eval_split = PREDICT
  predict_split = PREDICT
  metric_line = "eval {key} = {value}"
  needs_data_dir = False

  @classmethod
  def model_kind(cls, settings):
    # v2's head (answerability, end conditioned on the start) is another
    # model than v1's.
    version = "2.0" if settings.version_2_with_negative else "1.1"
    return f"{cls.__name__} (SQuAD {version})"

  @classmethod
  def export_settings(cls, settings):
    # What the served answer is decoded with (serving.SquadServingModel;
    # a threshold of None: the one the run's evaluation saves), and the
    # run's windows (checked against max_seq_length).
    return {"version_2_with_negative": bool(settings.version_2_with_negative),
            "max_query_length": settings.max_query_length,
            "doc_stride": settings.doc_stride,
            "max_answer_length": settings.max_answer_length,
            "start_n_top": settings.start_n_top,
            "end_n_top": settings.end_n_top,
            "null_score_diff_threshold": settings.null_score_diff_threshold}

  @classmethod
  def settings_from_manifest(cls, recorded):
    values = super().settings_from_manifest(recorded)
    # A directory from before export settings were recorded: its model
    # kind still says the version.
    values.setdefault("version_2_with_negative",
                      str(recorded.get("task", "")).endswith("(SQuAD 2.0)"))
    return values

  def __init__(self, settings, config, tokenizer):
    super().__init__(settings, config, tokenizer)
    self.is_v2 = bool(settings.version_2_with_negative)
    self.prediction_keys = (_V2_OUTPUTS if self.is_v2
                            else ("start_logits", "end_logits"))
    self.train_examples = None
    self._predict_data = None

  def prepare(self):
    settings = self.settings
    if not settings.do_train:
      return
    self.train_examples = squad_examples.read_squad_examples(
        settings.train_file, is_training=True,
        version_2_with_negative=self.is_v2)
    if not self.train_examples:
      raise squad_examples.SquadDataError(
          f"{settings.train_file} has no questions")
    self.settings = settings.with_steps_from_epochs(len(self.train_examples))

  # Data.

  def _spec(self):
    length = self.settings.max_seq_length
    spec = {name: ([length], tf.int32) for name in
            ("input_word_ids", "input_mask", "input_type_ids", "p_mask")}
    spec.update({name: ([], tf.int64) for name in LABEL_KEYS})
    return spec

  def _features(self, examples, is_training):
    settings = self.settings
    return window_features.convert_examples_to_features(
        examples, self.tokenizer, settings.max_seq_length,
        settings.doc_stride, settings.max_query_length, is_training,
        do_lower_case=settings.do_lower_case)

  def _train_features(self):
    examples = list(self.train_examples)
    # The original pre-shuffles the examples (shuffle buffer is only 100).
    random.Random(self.settings.seed).shuffle(examples)
    for feature in self._features(examples, is_training=True):
      yield {"input_word_ids": feature.input_ids,
             "input_mask": feature.input_mask,
             "input_type_ids": feature.segment_ids,
             "p_mask": feature.p_mask,
             "start_positions": feature.start_position,
             "end_positions": feature.end_position,
             "is_impossible": int(feature.is_impossible)}

  def build_inputs(self, split, batch_size, is_training):
    if split == PREDICT:
      _, _, _, arrays = self.predict_data()
      inputs = {k: v for k, v in arrays.items() if k != "unique_ids"}
      return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)
    settings = self.settings
    key = {"input": feature_cache.file_signature(settings.train_file),
           "max_seq_length": settings.max_seq_length,
           "doc_stride": settings.doc_stride,
           "max_query_length": settings.max_query_length,
           "vocab": settings.spm_model_file or settings.vocab_file,
           "do_lower_case": settings.do_lower_case,
           "version_2_with_negative": self.is_v2, "seed": settings.seed}
    dataset, count = self.record_inputs(
        split, self._train_features, self._spec(), batch_size, is_training,
        cache_key=key)
    if not count:
      raise squad_examples.SquadDataError(
          f"{settings.train_file}: no training features (every paragraph "
          "failed to align with its pieces)")
    logging.info("%d training features from %d questions", count,
                 len(self.train_examples))
    if self.is_v2:
      # The v2 end logits are conditioned on the gold start in training.
      dataset = dataset.map(lambda f, l: (
          dict(f, start_positions=l["start_positions"]), l))
    return dataset

  def predict_data(self):
    """(dataset json, examples, features, arrays) of --predict_file."""
    if self._predict_data is None:
      settings = self.settings
      dataset_json = squad_examples.load_squad_json(settings.predict_file)
      examples = squad_examples.read_squad_examples(
          settings.predict_file, is_training=False,
          version_2_with_negative=self.is_v2)
      features = self._features(examples, is_training=False)
      arrays = window_features.features_to_arrays(features,
                                                  is_training=False)
      self._predict_data = (dataset_json, examples, features, arrays)
    return self._predict_data

  def read_split(self, split):
    # --train_file and --predict_file were found by settings.check().
    self.predict_data()

  def has_gold(self, split):
    return split == PREDICT and _has_gold_answers(self.predict_data()[0])

  def training_eval_split(self):
    settings = self.settings
    if (settings.do_predict or settings.do_eval) and self.has_gold(PREDICT):
      return PREDICT
    return None

  def inference_splits(self):
    settings = self.settings
    return [PREDICT] if settings.do_predict or settings.do_eval else []

  # Model.

  def build_model(self):
    settings = self.settings
    model = SquadModel(self.config, version_2_with_negative=self.is_v2,
                       start_n_top=settings.start_n_top,
                       end_n_top=settings.end_n_top,
                       dropout_prob=settings.dropout_prob,
                       encoder=self.build_encoder())
    return model.build_for_inputs()

  def build_losses(self, labels, outputs):
    if self.is_v2:
      return squad_v2_loss(outputs, labels["start_positions"],
                           labels["end_positions"], labels["is_impossible"])
    return squad_v1_loss(outputs, labels["start_positions"],
                         labels["end_positions"])

  def distillation_losses(self, labels, outputs, teacher_outputs,
                          temperature):
    # Per start and per end distribution over the window's positions, as
    # the gold loss. v2: the log-probabilities (logits up to a constant,
    # masked by p_mask) with the end conditioned on the gold start for
    # teacher and student alike, plus the answerability logit.
    soft = distillation_loss.soft_cross_entropy
    if self.is_v2:
      span = (soft(teacher_outputs["start_log_probs"],
                   outputs["start_log_probs"], temperature) +
              soft(teacher_outputs["end_log_probs"],
                   outputs["end_log_probs"], temperature)) * 0.5
      return span + 0.5 * distillation_loss.soft_binary_cross_entropy(
          teacher_outputs["cls_logits"], outputs["cls_logits"], temperature)
    return (soft(teacher_outputs["start_logits"], outputs["start_logits"],
                 temperature) +
            soft(teacher_outputs["end_logits"], outputs["end_logits"],
                 temperature)) * 0.5

  # Evaluation and prediction.

  def _raw_results(self, features, out):
    if self.is_v2:
      return [postprocessing.RawResultV2(
          unique_id=f.unique_id,
          start_top_log_probs=out["start_top_log_probs"][i].tolist(),
          start_top_index=out["start_top_index"][i].tolist(),
          end_top_log_probs=out["end_top_log_probs"][i].tolist(),
          end_top_index=out["end_top_index"][i].tolist(),
          cls_logits=float(out["cls_logits"][i]))
              for i, f in enumerate(features)]
    return [postprocessing.RawResult(
        unique_id=f.unique_id,
        start_log_prob=out["start_logits"][i].tolist(),
        end_log_prob=out["end_logits"][i].tolist())
            for i, f in enumerate(features)]

  def aggregate(self, split, outputs):
    """Decodes the answers; (metrics or None, (predictions, nbest, odds))."""
    settings = self.settings
    dataset_json, examples, features, _ = self.predict_data()
    results = self._raw_results(features, outputs) if features else []
    has_gold = self.has_gold(split)
    metrics = None
    null_odds = None
    if not self.is_v2:
      predictions, nbest = postprocessing.decode_predictions_v1(
          examples, features, results, settings.n_best_size,
          settings.max_answer_length)
      if has_gold:
        metrics = evaluation.evaluate_v1(dataset_json, predictions,
                                         source=settings.predict_file)
      return metrics, (predictions, nbest, null_odds)

    def decode(threshold):
      return postprocessing.decode_predictions_v2(
          examples, features, results, settings.n_best_size,
          settings.max_answer_length, settings.start_n_top,
          settings.end_n_top, threshold)
    threshold = settings.null_score_diff_threshold
    if threshold is None and has_gold:
      metrics, predictions, nbest, null_odds = (
          evaluation.evaluate_v2_with_threshold(
              dataset_json, decode, source=settings.predict_file))
      return metrics, (predictions, nbest, null_odds)
    if threshold is None:
      threshold = self.saved_threshold()
    predictions, nbest, null_odds = decode(threshold)
    if has_gold:
      metrics = evaluation.evaluate_v2(dataset_json, predictions, null_odds,
                                       source=settings.predict_file)
      metrics["null_score_diff_threshold"] = threshold
    return metrics, (predictions, nbest, null_odds)

  def saved_threshold(self):
    """The v2 threshold of the best checkpoint's evaluation, else 0."""
    best = finetuning_trainer.read_best_metrics(self.settings.output_dir)
    if best and "null_score_diff_threshold" in best.get("metrics", {}):
      return best["metrics"]["null_score_diff_threshold"]
    return 0.0

  def write_predictions(self, split, predictions):
    predictions, nbest, null_odds = predictions
    postprocessing.write_prediction_files(self.settings.output_dir,
                                          predictions, nbest, null_odds)
    return [f"wrote {self.output_path('predictions.json')}"]

  # Export.

  def serving_outputs(self):
    return SERVING_OUTPUTS[self.is_v2]

  def serving_model(self, model):
    threshold = self.settings.null_score_diff_threshold
    if threshold is None:
      threshold = self.saved_threshold()
    return SquadServingModel(
        model, self.tokenizer,
        max_answer_length=self.settings.max_answer_length,
        null_score_diff_threshold=threshold)
