"""What a fine-tuning task declares; the runner (tasks/runner.py) does the rest.

A task is one class: how to read and encode its data, its model (encoder +
head), its per-example loss, its metrics, the files its predictions go to
and the outputs its TF Serving export names. The runner builds the config,
tokenizer, strategy and trainer, resumes or initialises, trains, keeps the
best checkpoint by `best_metric`, evaluates, predicts and exports, the same
way for every task. docs/add_a_task.md walks through a small task.

Splits are names the task chooses ("train", "dev", "test"; SQuAD has
"train" and "predict"). Model outputs are dicts of named tensors; the
runner predicts inside the distribution strategy and hands the task numpy
arrays over all examples of a split, in input order.
"""

import os

from albert_tf.errors import FlagError
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.modeling import AlbertEncoder
from albert_tf.tasks import feature_cache
from albert_tf.tasks.finetuning_settings import FinetuningSettings

TRAIN, DEV, TEST = "train", "dev", "test"


class FinetuningTask:
  """Base class of fine-tuning tasks.

  Subclasses set `settings_class`, `label_keys`, `best_metric` and
  implement build_model, build_inputs, build_losses, aggregate and
  write_predictions.
  """

  settings_class = FinetuningSettings
  # Input features that are labels: fed to build_losses, not to the model.
  label_keys = ("label_ids",)
  # The dev metric that picks the best checkpoint (None: keep the newest).
  best_metric = "accuracy"
  higher_is_better = True
  # The split evaluated during training and by --do_eval; the one --do_predict
  # writes predictions for.
  eval_split = DEV
  predict_split = TEST
  # Outputs the runner keeps when predicting (None: every tensor output).
  prediction_keys = None
  # How the runner prints a metric after --do_eval.
  metric_line = "eval {key} = {value:.6f}"
  # Tasks reading --data_dir (SQuAD names its files instead).
  needs_data_dir = True

  def __init__(self, settings, config, tokenizer):
    self.settings = settings
    self.config = config
    self.tokenizer = tokenizer
    self._records_written = {}  # split → records written by this run.

  @classmethod
  def resolve_settings(cls, settings):
    """Checks the settings; returns them with derived values filled in."""
    settings.check(needs_data_dir=cls.needs_data_dir)
    return settings

  @classmethod
  def model_kind(cls, settings):
    """What the task's model is, as recorded in the finetuning manifest: a
    teacher (--teacher_checkpoint) must be of the same kind (same heads,
    same outputs)."""
    del settings  # The class says it; tasks with variants add theirs.
    return cls.__name__

  @classmethod
  def export_settings(cls, settings):
    """The settings, beside the model's weights and labels, that its
    exports are made with ({name: value}): recorded in the finetuning
    manifest by the run that makes the directory, so that
    `tfhub_export.export --finetuned_dir` exports what the tool's own
    --export_dir would have."""
    del settings  # The weights, config and labels say it all.
    return {}

  @classmethod
  def settings_from_manifest(cls, recorded):
    """{name: value} of the task's settings for inference on a fine-tuning
    directory, from its manifest (`recorded`): its export settings (older
    directories lack them: the tool's defaults then)."""
    return dict(recorded.get("export_settings") or {})

  def prepare(self):
    """Called once output_dir exists, before the model is built."""

  def check_split_files(self, split):
    """Raises InputFormatError naming the expected path when the input file
    (or directory) of `split` is missing; reads nothing. Called before
    anything is written, so that a missing dev or test file is reported
    before training, not after it."""

  def read_split(self, split):
    """Reads (and keeps) the examples of `split`, raising InputFormatError
    for a malformed file; called after prepare() for the splits inferred
    after training, so that their errors also come before training."""

  def splits_used(self):
    """Every split this run reads: train when training, then the inferred
    ones."""
    splits = [TRAIN] if self.settings.do_train else []
    return splits + [s for s in self.inference_splits() if s not in splits]

  # -- data -----------------------------------------------------------------

  def build_inputs(self, split, batch_size, is_training):
    """A tf.data.Dataset of (features, labels) batches of `split`."""
    raise NotImplementedError

  def record_inputs(self, split, make_features, spec, batch_size, is_training,
                    cache_key=None):
    """build_inputs from encoded features cached in output_dir.

    make_features() yields feature dicts matching spec {name: (shape, dtype)}
    and is called only when output_dir/<split>.tf_record is missing or was
    written for another cache_key (None: written once per run).
    """
    path = os.path.join(self.settings.output_dir, f"{split}.tf_record")
    written = self._records_written
    if cache_key is None:
      if split not in written:
        written[split] = feature_cache.write_records(path, make_features(),
                                                     spec)
      count = written[split]
    else:
      count = feature_cache.cached_records(path, cache_key, make_features,
                                           spec)
    dataset = feature_cache.records_dataset(
        path, spec, batch_size, is_training, label_keys=self.label_keys,
        seed=self.settings.seed)
    return dataset, count

  # -- model and loss -------------------------------------------------------

  def build_model(self):
    """A tf_keras.Model from the input dict to a dict of named outputs.

    Called in the strategy's scope. Its `encoder` attribute (an
    AlbertEncoder, from build_encoder()) is what --init_checkpoint loads.
    """
    raise NotImplementedError

  def build_encoder(self):
    """The task model's AlbertEncoder, as the settings ask for it
    (--recompute_activations)."""
    return AlbertEncoder(
        self.config,
        recompute_activations=self.settings.recompute_activations)

  def build_losses(self, labels, outputs):
    """Per-example loss [B]; the trainer averages it over the global batch."""
    raise NotImplementedError

  def distillation_losses(self, labels, outputs, teacher_outputs,
                          temperature):
    """Per-example soft loss [B] of the student's outputs against the
    frozen teacher's (--teacher_checkpoint; see training/distillation_loss:
    the runner weighs it with the gold loss by --distillation_alpha)."""
    raise FlagError(f"{type(self).__name__} does not support "
                    "--teacher_checkpoint")

  # -- evaluation and prediction -------------------------------------------

  def has_gold(self, split):
    """Whether `split` can be scored (the eval split by default)."""
    return split == self.eval_split

  def aggregate(self, split, outputs):
    """(metrics dict or None, predictions) from the outputs over a split."""
    raise NotImplementedError

  def write_predictions(self, split, predictions):
    """Writes the prediction files of a split; returns lines to print."""
    raise NotImplementedError

  def inference_splits(self):
    """The splits the run predicts after training, in order."""
    splits = []
    if self.settings.do_eval:
      splits.append(self.eval_split)
    if self.settings.do_predict and self.predict_split not in splits:
      splits.append(self.predict_split)
    return splits

  def training_eval_split(self):
    """The split scored after every checkpoint (None: no evaluation)."""
    return self.eval_split if self.settings.do_eval else None

  # -- export ---------------------------------------------------------------

  def serving_outputs(self):
    """The model outputs served, as a list or {output: served name}."""
    raise NotImplementedError

  def serving_model(self, model):
    """The model the export wraps (SQuAD adds in-graph answer decoding)."""
    return model

  def serving_options(self):
    """Extra arguments of serving_export.export_serving_model."""
    return {}

  # -- helpers --------------------------------------------------------------

  def output_path(self, name):
    return os.path.join(self.settings.output_dir, name)

  def write_lines(self, name, lines):
    """output_dir/name, one line each (written atomically)."""
    write_text_atomically(self.output_path(name), "\n".join(lines) + "\n")

  def saved_label_list(self, name, labels=None):
    """Reads output_dir/name (one label a line), or writes `labels` there."""
    path = self.output_path(name)
    if labels is None:
      with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]
    write_text_atomically(path, "".join(f"{label}\n" for label in labels))
    return labels
