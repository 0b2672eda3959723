"""The encoder as a reusable TF Hub SavedModel (like tensorflow/albert_en_*/3).

Loaded with `tf.saved_model.load(path)` (only tensorflow needed) it is:

  encoder(inputs, training=False)       inputs: dict input_word_ids,
                                        input_mask, input_type_ids (int32
                                        [B,S]) → pooled_output [B,H],
                                        sequence_output [B,S,H],
                                        encoder_outputs (list of [B,S,H]),
                                        default (= pooled_output)
  encoder.variables / .trainable_variables / .regularization_losses
                                        so hub.KerasLayer(path, trainable=True)
                                        fine-tunes it
  encoder.mlm(inputs + masked_lm_positions [B,P]) → the above + mlm_logits
                                        [B,P,V] and sop_logits [B,2]
  encoder.sop(inputs) → the above + sop_logits [B,2]
  encoder.serve(inputs)                 inference only (Keras 3's TFSMLayer
                                        calls this endpoint by default)
  encoder.sp_model_file / .vocab_file   the tokenizer (an asset) and
  encoder.do_lower_case                 how to use it
  encoder.albert_config_file            the model's albert_config.json

Signatures (saved_model_cli, TF Serving, TF1-Hub-style code):
  serving_default     input_word_ids, input_mask, input_type_ids →
                      pooled_output, sequence_output
  tokens              input_ids, input_mask, segment_ids (the original TF1
                      Hub module's names) → pooled_output, sequence_output
  mlm                 tokens' inputs + mlm_positions → mlm_logits [B·P, V]
                      (rows ordered batch-major, as the TF1 module), and
                      pooled_output, sequence_output
  sop                 tokens' inputs → sop_log_probs [B,2], pooled_output,
                      sequence_output
  tokenization_info   () → vocab_file (the bundled tokenizer file's path),
                      do_lower_case
mlm and sop exist only when the checkpoint has the pretraining heads.
"""

import os
import tempfile

import tensorflow as tf

from albert_tf.checkpoints import CheckpointMismatchError
from albert_tf.checkpoints import name_map
from albert_tf.config import AlbertConfig
from albert_tf.modeling.albert_encoder import AlbertEncoder
from tfhub_export import export_precision
from tfhub_export import export_utils

# The original TF1 Hub module's input names for the same three tensors.
TF1_INPUT_KEYS = ("input_ids", "input_mask", "segment_ids")
ENCODER_SIGNATURES = ("serving_default", "tokens", "tokenization_info")
HEAD_SIGNATURES = ("mlm", "sop")
CONFIG_ASSET = "albert_config.json"

_AutoTrackable = tf.__internal__.tracking.AutoTrackable


def _encoder_outputs(outputs):
  # float32 whatever the export computes in (--export_precision).
  outputs = export_precision.float32_outputs(outputs)
  return {
      "pooled_output": outputs["pooled_output"],
      "sequence_output": outputs["sequence_output"],
      "encoder_outputs": list(outputs["encoder_outputs"]),
      "default": outputs["pooled_output"],
  }


def _trace_with_training(function, specs):
  """Traces `function(inputs, training)` for both values of training."""
  for training in (False, True):
    function.get_concrete_function(specs, training=training)


class _Callable(_AutoTrackable):
  """A reusable-SavedModel callable: __call__ plus its variables."""

  def __init__(self, call_fn, specs, variables, trainable_variables):
    super().__init__()
    self.__call__ = tf.function(call_fn)
    _trace_with_training(self.__call__, specs)
    self.variables = list(variables)
    self.trainable_variables = list(trainable_variables)
    self.regularization_losses = []


class EncoderSavedModel(_AutoTrackable):
  """The object tf.saved_model.save writes for the encoder export."""

  def __init__(self, pretrainer, tokenizer_spec, config_file,
               has_heads=True):
    """Builds the object to save.

    Args:
      pretrainer: AlbertPretrainer with the weights to export.
      tokenizer_spec: export_utils.TokenizerSpec of its vocabulary.
      config_file: its albert_config.json; assets are copied from their
        files at save time, so this file and the directory it is in (where
        the tokenizer asset's copy is made) must exist until then.
      has_heads: whether the pretraining heads hold trained weights (then
        the mlm/sop parts are exported).
    """
    super().__init__()
    asset_dir = os.path.dirname(config_file)
    # The config travels with the weights (load_encoder_from_saved_model).
    self.albert_config_file = tf.saved_model.Asset(config_file)
    encoder = pretrainer.encoder
    self._pretrainer = pretrainer
    specs = export_utils.input_specs()

    def call(inputs, training=False):
      return _encoder_outputs(encoder(inputs, training=training))

    self.__call__ = tf.function(call)
    _trace_with_training(self.__call__, specs)
    # Listed explicitly: restored objects keep attributes, not properties.
    self.variables = list(encoder.variables)
    self.trainable_variables = list(encoder.trainable_variables)
    self.regularization_losses = []
    self.serve = tf.function(lambda inputs: call(inputs, training=False),
                             input_signature=[specs])

    if tokenizer_spec.is_sentencepiece:
      self.sp_model_file = tokenizer_spec.asset(asset_dir)
      tokenizer_asset = self.sp_model_file
    else:
      self.vocab_file = tokenizer_spec.asset(asset_dir)
      tokenizer_asset = self.vocab_file
    self.do_lower_case = tf.Variable(tokenizer_spec.do_lower_case,
                                     trainable=False, name="do_lower_case")

    self.has_heads = has_heads
    if has_heads:
      mlm_specs = dict(specs, masked_lm_positions=tf.TensorSpec(
          [None, None], tf.int32, name="masked_lm_positions"))

      def mlm_call(inputs, training=False):
        outputs = pretrainer(inputs, training=training)
        return dict(_encoder_outputs(outputs),
                    **export_precision.float32_outputs(
                        {"mlm_logits": outputs["mlm_logits"],
                         "sop_logits": outputs["sop_logits"]}))

      def sop_call(inputs, training=False):
        outputs = encoder(inputs, training=training)
        return dict(_encoder_outputs(outputs),
                    sop_logits=export_precision.float32_outputs(
                        pretrainer.sentence_order(outputs["pooled_output"])))

      self.mlm = _Callable(mlm_call, mlm_specs, pretrainer.variables,
                           pretrainer.trainable_variables)
      self.sop = _Callable(
          sop_call, specs,
          encoder.variables + pretrainer.sentence_order.variables,
          encoder.trainable_variables +
          pretrainer.sentence_order.trainable_variables)

    # Signatures, with the original TF1 Hub module's names and inputs.
    def tf1_inputs(input_ids, input_mask, segment_ids):
      return {"input_word_ids": input_ids, "input_mask": input_mask,
              "input_type_ids": segment_ids}

    def outputs_of(inputs):
      outputs = export_precision.float32_outputs(
          encoder(inputs, training=False))
      return {"pooled_output": outputs["pooled_output"],
              "sequence_output": outputs["sequence_output"]}

    tf1_specs = [tf.TensorSpec([None, None], tf.int32, name=k)
                 for k in TF1_INPUT_KEYS]

    @tf.function(input_signature=[specs])
    def serving_default(inputs):
      return outputs_of(inputs)

    @tf.function(input_signature=tf1_specs)
    def tokens(input_ids, input_mask, segment_ids):
      return outputs_of(tf1_inputs(input_ids, input_mask, segment_ids))

    @tf.function(input_signature=[])
    def tokenization_info():
      return {"vocab_file": tokenizer_asset.asset_path,
              "do_lower_case": tf.identity(self.do_lower_case)}

    signatures = {
        "serving_default": serving_default.get_concrete_function(),
        "tokens": tokens.get_concrete_function(),
        "tokenization_info": tokenization_info.get_concrete_function(),
    }
    if has_heads:
      mlm_positions_spec = tf.TensorSpec([None, None], tf.int32,
                                         name="mlm_positions")

      @tf.function(input_signature=tf1_specs + [mlm_positions_spec])
      def mlm(input_ids, input_mask, segment_ids, mlm_positions):
        inputs = tf1_inputs(input_ids, input_mask, segment_ids)
        inputs["masked_lm_positions"] = mlm_positions
        outputs = export_precision.float32_outputs(
            pretrainer(inputs, training=False))
        logits = outputs["mlm_logits"]
        return {"mlm_logits": tf.reshape(logits, [-1, tf.shape(logits)[-1]]),
                "pooled_output": outputs["pooled_output"],
                "sequence_output": outputs["sequence_output"]}

      @tf.function(input_signature=tf1_specs)
      def sop(input_ids, input_mask, segment_ids):
        outputs = outputs_of(tf1_inputs(input_ids, input_mask, segment_ids))
        logits = export_precision.float32_outputs(
            pretrainer.sentence_order(outputs["pooled_output"]))
        return dict(outputs, sop_log_probs=tf.nn.log_softmax(logits))

      signatures["mlm"] = mlm.get_concrete_function()
      signatures["sop"] = sop.get_concrete_function()
    export_utils.set_untracked(self, "export_signatures", signatures)


def export_encoder(loaded_model, tokenizer_spec, export_path,
                   overwrite=False):
  """Writes the encoder SavedModel of a LoadedModel to `export_path`.

  Args:
    loaded_model: export_utils.LoadedModel (see export_utils.load_model).
    tokenizer_spec: export_utils.TokenizerSpec; its file is bundled as an
      asset and named by the tokenization_info signature.
    export_path: directory to write; it appears only once complete.
    overwrite: replace an existing `export_path`.

  Returns:
    The absolute export path.
  """
  config = loaded_model.pretrainer.config
  tokenizer_spec.graph_tokenizer(config.vocab_size)  # Fails on a mismatch.
  with tempfile.TemporaryDirectory() as config_dir:
    config_file = os.path.join(config_dir, CONFIG_ASSET)
    with open(config_file, "w", encoding="utf-8") as f:
      f.write(config.to_json_string())
    module = EncoderSavedModel(loaded_model.pretrainer, tokenizer_spec,
                               config_file, has_heads=loaded_model.has_heads)
    return export_utils.save_module(module, export_path,
                                    signatures=module.export_signatures,
                                    overwrite=overwrite)


def _below_scope(name, scope):
  """"outer/albert_encoder/pooler/kernel:0" → "pooler/kernel:0"."""
  marker = scope + "/"
  index = name.find(marker)
  return name[index + len(marker):] if index >= 0 else name


def assign_from_saved_model(encoder, path):
  """Copies the weights of one of our encoder SavedModels into `encoder`.

  Variables are matched by their names below the encoder's own scope
  (embeddings/word_embeddings, group_0/..., pooler/...), so `encoder` only
  has to be built from the same config, wherever it sits in a larger model.

  Args:
    encoder: an AlbertEncoder (e.g. the `.encoder` of a fine-tuning model).
    path: the directory of an encoder SavedModel written by this module (or
      `python -m tfhub_export.export --export_type=encoder`).

  Returns:
    The number of variables assigned.

  Raises:
    albert_tf.checkpoints.CheckpointMismatchError when a variable is missing
    or has another shape; nothing is assigned then.
  """
  loaded = tf.saved_model.load(path)
  saved_scope = loaded.variables[0].name.split("/", 1)[0]
  saved = {_below_scope(v.name, saved_scope): v for v in loaded.variables}
  missing, mismatched, pairs = [], [], []
  for tf1_name, variable in name_map.tf1_variable_map(encoder).items():
    source = saved.get(_below_scope(variable.name, encoder.name))
    if source is None:
      missing.append(f"{tf1_name} ({variable.name})")
    elif source.shape != variable.shape:
      mismatched.append(f"{tf1_name}: saved {source.shape.as_list()}, "
                        f"model {variable.shape.as_list()}")
    else:
      pairs.append((variable, source))
  if missing or mismatched:
    problems = []
    if missing:
      problems.append(f"missing ({len(missing)}): " + ", ".join(missing))
    if mismatched:
      problems.append(f"shape mismatches ({len(mismatched)}): "
                      + "; ".join(mismatched))
    raise CheckpointMismatchError(
        f"encoder SavedModel {path} does not match the model: "
        + " | ".join(problems))
  for variable, source in pairs:
    variable.assign(source)
  return len(pairs)


def load_encoder_from_saved_model(path, config=None):
  """An AlbertEncoder holding the weights of one of our encoder SavedModels.

  Lets fine-tuning start from a TF Hub-style export instead of a checkpoint.

  Args:
    path: directory of an encoder SavedModel written by export_encoder.
    config: the AlbertConfig (or the path of its albert_config.json) the
      export was made from. Optional: without it the config is read from
      the `albert_config.json` asset the export carries.

  Returns:
    A new AlbertEncoder with the exported weights.
  """
  if config is None:
    config = os.path.join(path, "assets", CONFIG_ASSET)
    if not tf.io.gfile.exists(config):
      raise FileNotFoundError(
          f"{config} does not exist; pass the config the export was made "
          "from")
  if not isinstance(config, AlbertConfig):
    config = AlbertConfig.from_json_file(config)
  encoder = AlbertEncoder(config)
  assign_from_saved_model(encoder, path)
  return encoder
