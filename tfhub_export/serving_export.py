"""SavedModels for TensorFlow Serving: raw text in, named outputs out.

export_serving_model writes `<export_path>/<version>/`, the layout TF Serving
watches (it loads the highest version; hidden staging directories are
skipped), with these signatures (all returning the task model's named
outputs, e.g. pooled_output/sequence_output or probabilities/predictions):

  serving_default    text_a, text_b: string [B] → outputs. Rows whose text_b
                     is "" are packed as one segment ([CLS] a [SEP]), the
                     others as a pair ([CLS] a [SEP] b [SEP]), like the
                     original run_classifier (`if example.text_b:`).
  serve_text         text: string [B] → outputs (one segment).
  serve_token_ids    input_word_ids, input_mask, input_type_ids: int32 [B,S]
                     → outputs (already tokenized and packed inputs).
  serve_tf_example   examples: string [B], serialized tf.Example protos with
                     int64 features input_ids, input_mask, segment_ids of
                     length seq_length (the original fine-tuning TFRecords'
                     layout) → outputs.

A tagger (e.g. run_token_classification's: tag_ids [B, S], probabilities
[B, S, L]) is exported with `text_tagging=` (run_token_classification's:
albert_tf.tasks.token_serving.EntityExtraction), which changes the text
signatures:

  serving_default    text: string [B] → entities, entity_types,
  serve_text         entity_starts, entity_ends, entity_scores [B, K],
                     num_entities [B] (the text's own words; see
                     token_serving), tag_ids and probabilities.
  serve_text_a       text_a, text_b: string [B], text_b empty (the old
                     request) → the same.

A multiple-choice model (e.g. run_race's, inputs [B, C, S]) is exported with
`multiple_choice=` instead (see MultipleChoiceServingSavedModel):

  serving_default    article, question: string [B]; options: string [B, C]
                     → outputs, plus predicted_option (string [B], the text
                     of the option the model's predicted_choice names).
                     Each (article, question + option) pair is packed by
                     the `multiple_choice` packing (run_race's:
                     albert_tf.tasks.race_serving.RacePacking).
  serve_token_ids    input_word_ids, input_mask, input_type_ids: int32
                     [B, C, S] → outputs.

Tokenization (albert_tf.tokenization) and packing run inside the graph with core
TensorFlow and TF Text ops only, which TF Serving links; the tokenizer is
embedded, so the export refers to no file of the exporting machine.
"""

import os
import re

import tensorflow as tf

from tfhub_export import export_precision
from tfhub_export import export_utils
from tfhub_export import preprocessor_export

_AutoTrackable = tf.__internal__.tracking.AutoTrackable
SIGNATURES = ("serving_default", "serve_text", "serve_token_ids",
              "serve_tf_example")
TF_EXAMPLE_FEATURES = ("input_ids", "input_mask", "segment_ids")
# A multiple-choice export's text signature adds the text of the option its
# model's CHOICE_OUTPUT (the chosen option's index) names.
CHOICE_OUTPUT = "predicted_choice"
CHOSEN_OPTION_OUTPUT = "predicted_option"
_SIGNATURE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def _call_task_model(task_model, inputs):
  """The task model's outputs, float32 whatever it computes in (a model
  built under export_precision.computing_in("bfloat16") returns bfloat16)."""
  if hasattr(task_model, "call"):  # A Keras layer/model: inference mode.
    outputs = task_model(inputs, training=False)
  else:
    outputs = task_model(inputs)
  return export_precision.float32_outputs(outputs)


def _named_outputs(outputs, output_names):
  """Selects and renames the task model's outputs (see export_serving_model)."""
  if not isinstance(outputs, dict):
    if isinstance(output_names, dict) or not output_names or len(
        output_names) != 1:
      raise ValueError(
          "the task model returns a single tensor: pass output_names=[name] "
          "to name it")
    return {output_names[0]: outputs}
  if output_names is None:
    selected = {k: v for k, v in outputs.items()
                if isinstance(v, (tf.Tensor, tf.Variable))}
  elif isinstance(output_names, dict):
    selected = {new: outputs[old] for old, new in output_names.items()}
  else:
    selected = {k: outputs[k] for k in output_names}
  for name, value in selected.items():
    if not isinstance(value, tf.Tensor):
      raise ValueError(f"output {name!r} of the task model is not a tensor "
                       f"({type(value).__name__}); leave it out of "
                       "output_names")
    if not _SIGNATURE_KEY_PATTERN.match(name):
      raise ValueError(f"output name {name!r} is not a valid signature key")
  if not selected:
    raise ValueError("the task model has no tensor outputs to export")
  return selected


class ServingSavedModel(_AutoTrackable):
  """The object tf.saved_model.save writes for a TF Serving export."""

  def __init__(self, task_model, tokenizer, seq_length, output_names=None,
               text_tagging=None):
    super().__init__()
    self.task_model = task_model
    self._tokenizer = tokenizer
    self.seq_length = tf.Variable(seq_length, trainable=False,
                                  name="seq_length")

    def run(inputs):
      outputs = _call_task_model(task_model, inputs)
      return _named_outputs(outputs, output_names)

    def pack(segments):
      return preprocessor_export.pack_segments(tokenizer, segments,
                                               seq_length)

    string_spec = lambda name: tf.TensorSpec([None], tf.string, name=name)

    @tf.function(input_signature=[string_spec("text_a"),
                                  string_spec("text_b")])
    def serve_text_pair(text_a, text_b):
      tokens_a = tokenizer.tokenize(text_a)
      single = pack([tokens_a])
      pair = pack([tokens_a, tokenizer.tokenize(text_b)])
      has_b = tf.not_equal(text_b, "")[:, tf.newaxis]
      return run({k: tf.where(has_b, pair[k], single[k]) for k in single})

    @tf.function(input_signature=[string_spec("text")])
    def serve_text(text):
      if text_tagging is not None:
        return text_tagging(tokenizer, run, text, seq_length)
      return run(pack([tokenizer.tokenize(text)]))

    @tf.function(input_signature=[string_spec("text_a"),
                                  string_spec("text_b")])
    def serve_text_a(text_a, text_b):
      # A tagger tags one text: the old two-input request, text_b empty.
      check = tf.debugging.assert_equal(
          text_b, tf.zeros_like(text_b),
          message="text_b must be empty: the tagger tags one text (send "
          "`text` to serving_default)")
      with tf.control_dependencies([check]):
        return serve_text(tf.identity(text_a))

    @tf.function(input_signature=[export_utils.input_specs()])
    def serve_token_ids(inputs):
      return run(inputs)

    # Parsed as ragged rows, not FixedLenFeature([seq_length]): a request
    # with a shorter or longer feature then fails with one message naming
    # the feature and the length expected, instead of parse_example's
    # "Values size: 64 but output shape: [128]" that names neither.
    feature_spec = {k: tf.io.RaggedFeature(tf.int64)
                    for k in TF_EXAMPLE_FEATURES}

    def fixed_length(features, name):
      values = features[name]
      tf.debugging.assert_equal(
          values.row_lengths(), tf.cast(seq_length, values.row_splits.dtype),
          message=f"serve_tf_example: feature {name} must hold "
          f"{seq_length} int64 values per example (the export's "
          "seq_length); a request has another number")
      return tf.cast(values.to_tensor(shape=[None, seq_length]), tf.int32)

    @tf.function(input_signature=[string_spec("examples")])
    def serve_tf_example(examples):
      features = tf.io.parse_example(examples, feature_spec)
      return run({
          "input_word_ids": fixed_length(features, "input_ids"),
          "input_mask": fixed_length(features, "input_mask"),
          "input_type_ids": fixed_length(features, "segment_ids"),
      })

    # serve_token_ids takes a dict; its signature lists its three tensors.
    signatures = {
        "serve_text": serve_text.get_concrete_function(),
        "serve_token_ids": serve_token_ids.get_concrete_function(),
        "serve_tf_example": serve_tf_example.get_concrete_function(),
    }
    if text_tagging is None:
      signatures["serving_default"] = serve_text_pair.get_concrete_function()
    else:
      signatures["serving_default"] = signatures["serve_text"]
      signatures["serve_text_a"] = serve_text_a.get_concrete_function()
    export_utils.set_untracked(self, "export_signatures", signatures)


def _check_num_choices(tensor, name, num_choices):
  """Assertion that `tensor` has num_choices columns (a bad request)."""
  return tf.debugging.assert_equal(
      tf.shape(tensor)[1], num_choices,
      message=f"{name} must have {num_choices} choices per question "
      f"(shape [batch, {num_choices}, ...])")


class MultipleChoiceServingSavedModel(_AutoTrackable):
  """The export of a multiple-choice model: article/question/options in.

  `multiple_choice` has num_choices and is called as
  multiple_choice(tokenizer, article [B], question [B], options [B, C],
  seq_length) → the input dict, int32 [B, C, seq_length]. Requests with
  another number of options, or with batch sizes that disagree, fail with an
  InvalidArgumentError naming the tensor. `pack_inputs(article, question,
  options)` (a saved function) returns the packed input dict.
  """

  def __init__(self, task_model, tokenizer, seq_length, output_names,
               multiple_choice):
    super().__init__()
    self.task_model = task_model
    self._tokenizer = tokenizer
    num_choices = multiple_choice.num_choices
    self.seq_length = tf.Variable(seq_length, trainable=False,
                                  name="seq_length")
    self.num_choices = tf.Variable(num_choices, trainable=False,
                                   name="num_choices")

    def run(inputs):
      outputs = _call_task_model(task_model, inputs)
      return _named_outputs(outputs, output_names)

    string_spec = lambda name: tf.TensorSpec([None], tf.string, name=name)

    text_specs = [string_spec("article"), string_spec("question"),
                  tf.TensorSpec([None, None], tf.string, name="options")]

    @tf.function(input_signature=text_specs)
    def pack_inputs(article, question, options):
      batch_size = tf.shape(options)[0]
      checks = [_check_num_choices(options, "options", num_choices)] + [
          tf.debugging.assert_equal(
              tf.shape(tensor)[0], batch_size,
              message=f"{name} must have one entry per row of options")
          for name, tensor in (("article", article), ("question", question))]
      with tf.control_dependencies(checks):
        return multiple_choice(tokenizer, article, question, options,
                               seq_length)

    # Saved too (not a signature): the packed ids, for clients and tests.
    self.pack_inputs = pack_inputs

    @tf.function(input_signature=text_specs)
    def serving_default(article, question, options):
      outputs = run(pack_inputs(article, question, options))
      if CHOICE_OUTPUT in outputs:  # The chosen option in the user's words.
        outputs[CHOSEN_OPTION_OUTPUT] = tf.gather(
            options, outputs[CHOICE_OUTPUT], batch_dims=1)
      return outputs

    token_specs = {k: tf.TensorSpec([None, None, None], tf.int32, name=k)
                   for k in export_utils.INPUT_KEYS}

    @tf.function(input_signature=[token_specs])
    def serve_token_ids(inputs):
      checks = [_check_num_choices(inputs[k], k, num_choices)
                for k in export_utils.INPUT_KEYS]
      with tf.control_dependencies(checks):
        return run({k: tf.identity(v) for k, v in inputs.items()})

    export_utils.set_untracked(self, "export_signatures", {
        "serving_default": serving_default.get_concrete_function(),
        "serve_token_ids": serve_token_ids.get_concrete_function(),
    })


def existing_versions(export_path):
  """The integer version directories under export_path, ascending."""
  if not os.path.isdir(export_path):
    return []
  return sorted(int(name) for name in os.listdir(export_path)
                if name.isdigit() and
                os.path.isdir(os.path.join(export_path, name)))


def next_version(export_path):
  """One more than the highest existing version (1 when there is none)."""
  versions = existing_versions(export_path)
  return versions[-1] + 1 if versions else 1


def export_serving_model(task_model, export_path, *, spm_model_file=None,
                         vocab_file=None, do_lower_case=True, seq_length=128,
                         version=None, overwrite=False, output_names=None,
                         multiple_choice=None, text_tagging=None):
  """Writes a TF Serving SavedModel of `task_model` with text inputs.

  Args:
    task_model: a tf_keras model (or a trackable callable) mapping the
      encoder input dict (input_word_ids, input_mask, input_type_ids: int32
      [B,S]) to a dict of named tensors, e.g. {"probabilities",
      "predictions"} for a classifier or an AlbertEncoder itself. Keras
      models are called with training=False. Its variables must be tracked
      by it (a Keras model's are), so that they are saved.
    export_path: the model's base directory; the export goes into
      `<export_path>/<version>/`.
    spm_model_file: SentencePiece model of the task model's vocabulary, or
    vocab_file: its WordPiece vocab.txt (exactly one of the two).
    do_lower_case: as for albert_tf.tokenization.python_tokenizer.FullTokenizer.
    seq_length: the length raw text is packed to (and of the tf.Example
      features).
    version: positive integer version; default: one more than the highest
      existing version (1 for a new export_path).
    overwrite: replace an existing `<export_path>/<version>/`; otherwise that
      is a FileExistsError.
    output_names: which outputs to serve, under which names: None (every
      tensor-valued entry of the output dict, under its key), a list of keys,
      or a dict {key: served name}. A task model returning one tensor needs
      [name].
    multiple_choice: None for the text signatures; for a multiple-choice
      model (inputs [B, C, S]) its packing, e.g.
      albert_tf.tasks.race_serving.RacePacking(num_choices,
      max_qa_length): the export then has MultipleChoiceServingSavedModel's
      signatures (article, question, options → outputs).
    text_tagging: None, or for a tagger (task model outputs tag_ids [B, S]
      and probabilities [B, S, L]) the entity extraction, e.g.
      albert_tf.tasks.token_serving.EntityExtraction(label_list,
      max_entities): serving_default and serve_text then take `text` and
      return the entities in the text's own words besides tag_ids and
      probabilities; serve_text_a takes the old text_a / text_b (empty)
      request.

  Returns:
    The absolute path of the version directory written. It appears only
    once complete (written in a hidden staging directory, then renamed);
    a failure leaves nothing behind.
  """
  tokenizer_spec = export_utils.TokenizerSpec(
      spm_model_file=spm_model_file, vocab_file=vocab_file,
      do_lower_case=do_lower_case)
  if seq_length < 3:
    raise export_utils.ExportError(
        f"seq_length must be at least 3 ([CLS] x [SEP]), got {seq_length}")
  export_path = os.path.abspath(os.fspath(export_path))
  if version is None:
    version = next_version(export_path)
  if not isinstance(version, int) or version < 1:
    raise export_utils.ExportError(
        f"version must be a positive integer, got {version!r}")
  version_dir = os.path.join(export_path, str(version))
  export_utils.check_absent(version_dir, overwrite)
  vocab_size = getattr(getattr(task_model, "config", None), "vocab_size",
                       None)
  tokenizer = tokenizer_spec.graph_tokenizer(vocab_size)
  if multiple_choice is not None and text_tagging is not None:
    raise ValueError("pass multiple_choice or text_tagging, not both")
  if multiple_choice is None:
    module = ServingSavedModel(task_model, tokenizer, seq_length,
                               output_names, text_tagging)
  else:
    module = MultipleChoiceServingSavedModel(task_model, tokenizer, seq_length,
                                             output_names, multiple_choice)
  return export_utils.save_module(module, version_dir,
                                  signatures=module.export_signatures,
                                  overwrite=overwrite)
