"""A TFLite model with the tokenizer inside: raw text in, as TF Serving.

export_tflite writes `<export_path>/model.tflite` (the directory appears
only once complete and carries albert_tf's output marker) whose
`serving_default` signature takes what the TF Serving export's does:

  encoder, classifier   text_a, text_b: string [B] → the outputs (text_b ""
                        packs one segment, else a pair, as serving_export)
  tagger                text: string [B] → tag_ids [B, S], probabilities
                        [B, S, L] (per word piece; the SavedModel's entity
                        outputs need regex and string ops that have no TFLite
                        kernels: not in the TFLite export)
  squad                 text_a (question), text_b (context) → the numeric
                        outputs (answer_text, a string join, is left out)
  race                  refused (ExportError): filling the question's "_"
                        with each option needs string ops

B is dynamic: the interpreter resizes the inputs to each call's batch (a
signature runner does it itself; see `signature_runner`).

The tokenizer and packing use TFLite builtins and the TF Text ops that
`tensorflow_text`'s tflite_registrar registers (FastBertNormalize,
FastSentencepieceTokenize, FastWordpieceTokenize, RaggedTensorToTensor, ...;
see tfhub_export/tflite_tokenizer.py): no Select TF ("Flex") ops, which
would need the Flex delegate linked into the runtime. A runtime needs
TF Text's TFLite ops registered: in Python (LiteRT's
ai_edge_litert.interpreter.InterpreterWithCustomOps takes the same
arguments),

  from tensorflow.lite.python.interpreter import InterpreterWithCustomOps
  from tensorflow_text.core.pybinds import tflite_registrar
  interpreter = InterpreterWithCustomOps(
      model_path="model.tflite",
      custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS)

(`load_interpreter` here).

Quantization (`quantization=`):
  none          float32 weights and compute
  float16       float16 weights (dequantized to float32 at load)
  dynamic_int8  int8 weights, activations quantized per call (the
                converter's Optimize.DEFAULT without a dataset)
"""

import os

import numpy as np
import tensorflow as tf

from albert_tf.files import atomic_directory
from albert_tf.tasks import token_serving
from albert_tf.tokenization import graph_input_packer
from tfhub_export import export_utils
from tfhub_export import serving_export
from tfhub_export import tflite_tokenizer

MODEL_FILENAME = "model.tflite"
# Outputs of the TF Serving exports that need ops without TFLite kernels
# (string joins, regex splits): left out of the TFLite export, which keeps
# the numeric outputs they are computed from.
#   answer_text      SQuAD: the answer's pieces joined (StringJoin /
#                    ReduceJoin); answer_start / answer_end locate it.
#   entity outputs   the tagger's entities in the text's own words
#                    (RegexSplitWithOffsets, Substr); tag_ids and
#                    probabilities per word piece are served.
UNSUPPORTED_OUTPUTS = ("answer_text",) + token_serving.ENTITY_OUTPUTS
QUANTIZATIONS = ("none", "float16", "dynamic_int8")
SIGNATURE_KEY = "serving_default"


def _registerers():
  # pylint: disable=g-import-not-at-top
  from tensorflow_text.core.pybinds import tflite_registrar
  return tflite_registrar.SELECT_TFTEXT_OPS


def load_interpreter(model_path=None, model_content=None, num_threads=None):
  """A TFLite interpreter with TF Text's TFLite ops, tensors allocated."""
  # pylint: disable=g-import-not-at-top
  from tensorflow.lite.python.interpreter import InterpreterWithCustomOps
  import warnings
  with warnings.catch_warnings():
    # tf.lite.Interpreter's notice that it moves to LiteRT (ai-edge-litert,
    # an extra package; it loads these models the same way, see the docs).
    warnings.simplefilter("ignore", UserWarning)
    interpreter = InterpreterWithCustomOps(
        model_path=model_path, model_content=model_content,
        custom_op_registerers=_registerers(), num_threads=num_threads)
  interpreter.allocate_tensors()
  return interpreter


def signature_runner(interpreter):
  """The serving_default runner: call it with numpy arrays by input name."""
  return interpreter.get_signature_runner(SIGNATURE_KEY)


def _dense(ids):
  """Ragged ids [B, (T)] → dense [B, T + 1] (a zero column, so that a batch
  of empty texts still has one) and lengths [B], int32."""
  dense = tf.cast(ids.to_tensor(0), tf.int32)
  dense = tf.pad(dense, [[0, 0], [0, 1]])
  return dense, tf.cast(ids.row_lengths(), tf.int32)


def pack_dense(special_ids, seq_length, tokens_a, tokens_b=None,
               has_b=None):
  """[CLS] A [SEP] (B [SEP]) packing on dense tensors, as InputPacker packs.

  InputPacker's ragged ops (RaggedRange, RaggedGather, ...) have no TFLite
  kernels; this packs by index arithmetic on [B, seq_length] with the same
  longest-first truncation (graph_input_packer.longest_first_lengths). Rows
  where `has_b` is False are packed as one segment.
  """
  ids_a, length_a = _dense(tokens_a)
  if tokens_b is None:
    ids_b, length_b = tf.zeros_like(ids_a), tf.zeros_like(length_a)
    has_b = tf.zeros_like(length_a, tf.bool)
  else:
    ids_b, length_b = _dense(tokens_b)
    length_b = tf.where(has_b, length_b, 0)
  budget = seq_length - 2 - tf.cast(has_b, tf.int32)
  length_a, length_b = graph_input_packer.longest_first_lengths(
      length_a, length_b, budget)
  position = tf.range(seq_length, dtype=tf.int32)[tf.newaxis, :]   # [1, S]
  end_a = length_a[:, tf.newaxis] + 1          # position of A's [SEP]
  end_b = end_a + length_b[:, tf.newaxis] + 1  # position of B's [SEP]
  has_b = has_b[:, tf.newaxis]

  def take(ids, offset):
    index = tf.clip_by_value(position - offset, 0, tf.shape(ids)[1] - 1)
    return tf.gather(ids, index + tf.zeros_like(end_a), batch_dims=1)

  in_a = (position >= 1) & (position < end_a)
  in_b = has_b & (position > end_a) & (position < end_b)
  is_sep = (position == end_a) | (has_b & (position == end_b))
  last = tf.where(has_b, end_b, end_a)
  word_ids = tf.where(
      position == 0, special_ids["cls_id"],
      tf.where(in_a, take(ids_a, 1),
               tf.where(in_b, take(ids_b, end_a + 1),
                        tf.where(is_sep, special_ids["sep_id"],
                                 special_ids["pad_id"]))))
  return {
      "input_word_ids": word_ids,
      "input_mask": tf.cast(position <= last, tf.int32),
      "input_type_ids": tf.cast(has_b & (position > end_a) &
                                (position <= end_b), tf.int32),
  }


class TfliteServingModule(tf.Module):
  """serving_default of the TFLite export (see the module docstring)."""

  def __init__(self, task_model, tokenizer, seq_length, output_names=None,
               single_text=False):
    super().__init__()
    self.task_model = task_model
    self._tokenizer = tokenizer

    def run(inputs):
      # pylint: disable=protected-access
      outputs = serving_export._call_task_model(task_model, inputs)
      return serving_export._named_outputs(outputs, output_names)

    special_ids = tokenizer.special_ids
    string_spec = lambda name: tf.TensorSpec([None], tf.string, name=name)
    if single_text:
      @tf.function(input_signature=[string_spec("text")])
      def serving_default(text):
        return run(pack_dense(special_ids, seq_length,
                              tokenizer.tokenize(text)))
    else:
      @tf.function(input_signature=[string_spec("text_a"),
                                    string_spec("text_b")])
      def serving_default(text_a, text_b):
        # A row whose text_b is "" is one segment (serving_export's rule).
        return run(pack_dense(special_ids, seq_length,
                              tokenizer.tokenize(text_a),
                              tokenizer.tokenize(text_b),
                              has_b=tf.not_equal(text_b, "")))
    self.serving_default = serving_default


def convert(module, quantization="none"):
  """The .tflite bytes of a TfliteServingModule."""
  if quantization not in QUANTIZATIONS:
    raise export_utils.ExportError(
        f"tflite quantization must be one of {QUANTIZATIONS}, got "
        f"{quantization!r}")
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serving_default.get_concrete_function()], module)
  # TFLite builtins plus TF Text's TFLite custom ops; no Flex ops.
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  converter.allow_custom_ops = True
  if quantization != "none":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantization == "float16":
    converter.target_spec.supported_types = [tf.float16]
  return converter.convert()


def _check_runs(model_content, single_text):
  """Runs the converted model once: an op without a kernel fails here, not
  on the user's device."""
  runner = signature_runner(load_interpreter(model_content=model_content))
  text = np.array([b"a"], dtype=object)
  if single_text:
    runner(text=text)
  else:
    runner(text_a=text, text_b=np.array([b""], dtype=object))


def export_tflite(task_model, export_path, *, tokenizer_spec,
                  seq_length=128, output_names=None, quantization="none",
                  single_text=False, overwrite=False):
  """Writes `<export_path>/model.tflite`; returns its path.

  Args:
    task_model: as serving_export.export_serving_model's (a Keras model or
      trackable callable: encoder input dict → dict of named tensors).
    export_path: the directory to write (refused if it exists, unless
      overwrite and it is albert_tf's).
    tokenizer_spec: an export_utils.TokenizerSpec (do_lower_case=True).
    seq_length: the length text is packed to.
    output_names: as export_serving_model's.
    quantization: one of QUANTIZATIONS.
    single_text: serving_default takes `text` (a tagger) instead of
      text_a/text_b.
    overwrite: replace an existing export of albert_tf.

  Raises:
    export_utils.ExportError (a UserError): bad quantization, seq_length,
    tokenizer or an existing output. Nothing is written then.
  """
  if quantization not in QUANTIZATIONS:
    raise export_utils.ExportError(
        f"--tflite_quantization must be one of {', '.join(QUANTIZATIONS)}, "
        f"got {quantization!r}")
  if seq_length < 3:
    raise export_utils.ExportError(
        f"seq_length must be at least 3 ([CLS] x [SEP]), got {seq_length}")
  export_path = os.path.abspath(os.fspath(export_path))
  atomic_directory.check_absent(export_path, overwrite)
  try:
    tokenizer = tflite_tokenizer.make_tflite_tokenizer(tokenizer_spec)
  except (OSError, RuntimeError, ValueError) as e:
    raise export_utils.ExportError(
        f"cannot make the TFLite tokenizer of {tokenizer_spec.path}: "
        f"{e}") from e
  vocab_size = getattr(getattr(task_model, "config", None), "vocab_size",
                       None)
  if vocab_size is not None and tokenizer.vocab_size > vocab_size:
    raise export_utils.ExportError(
        f"tokenizer {tokenizer_spec.path} has {tokenizer.vocab_size} tokens "
        f"but the model's vocab_size is {vocab_size}")
  module = TfliteServingModule(task_model, tokenizer, seq_length,
                               output_names=output_names,
                               single_text=single_text)
  model_content = convert(module, quantization)
  _check_runs(model_content, single_text)
  with atomic_directory.directory_written_atomically(
      export_path, overwrite) as staging:
    with open(os.path.join(staging, MODEL_FILENAME), "wb") as f:
      f.write(model_content)
  return os.path.join(export_path, MODEL_FILENAME)


def tflite_outputs(serving_outputs):
  """The task's serving outputs (a list or {output: served name}) without
  UNSUPPORTED_OUTPUTS."""
  if isinstance(serving_outputs, dict):
    return {k: v for k, v in serving_outputs.items()
            if v not in UNSUPPORTED_OUTPUTS}
  return [k for k in serving_outputs if k not in UNSUPPORTED_OUTPUTS]


def export_task_tflite(task, model, export_path, *, tokenizer_spec,
                       seq_length, quantization="none", overwrite=False):
  """The TFLite export of a fine-tuned task's model (a base_task.Task and
  its trained Keras model), with the inputs and numeric outputs of the
  task's TF Serving export; returns the .tflite path.

  A tagger (text_tagging) takes `text`: its pieces are the whole text's
  (the SavedModel tokenizes word by word; the same pieces for WordPiece and
  for SentencePiece text whose words are separated by spaces). A
  multiple-choice model (RACE) is refused: its packing fills the question's
  "_" with each option, string work TFLite has no kernels for.
  """
  options = task.serving_options()
  if "multiple_choice" in options:
    raise export_utils.ExportError(
        "the TFLite export does not support multiple-choice models (RACE): "
        "its in-graph packing needs string ops TFLite has no kernels for; "
        "use --export_type=serving")
  return export_tflite(
      task.serving_model(model), export_path, tokenizer_spec=tokenizer_spec,
      seq_length=seq_length,
      output_names=tflite_outputs(task.serving_outputs()),
      quantization=quantization,
      single_text="text_tagging" in options, overwrite=overwrite)
