"""--export_type=tflite: model.tflite with the tokenizer inside, run by the
TFLite interpreter with TF Text's registered ops, against the Python
tokenizer and the TF Serving SavedModel."""

import os

import numpy as np
import pytest
import tensorflow as tf

import export_fixtures as fx
import finetuning_data
import reference_data as ref
import squad_synthetic
from cli_helpers import assert_refused
from cli_helpers import run_module
from albert_tf import run_classifier
from albert_tf import run_squad
from albert_tf import run_token_classification
from albert_tf.tasks import runner
from tfhub_export import export_utils
from tfhub_export import serving_export
from tfhub_export import tflite_export
from tfhub_export import tflite_tokenizer

# The bound for TFLite float32 against the SavedModel.
TFLITE_TOLERANCE = 1e-4
ENCODER_OUTPUTS = ["pooled_output", "sequence_output"]
# WordPiece fixture cases the TFLite tokenizer knowingly tokenizes
# otherwise: FastBertNormalizer's NFKC case folding turns "™" into "tm".
WORDPIECE_KNOWN_DIFFERENT = ("emoji 😀 and symbols ™ ©",)


def _strings(texts):
  return np.array([t.encode("utf-8") for t in texts], dtype=object)


def _tokenizer_model(tokenizer):
  """A .tflite of the tokenizer alone: text → ids [B, T], lengths [B]."""

  class Tokenize(tf.Module):

    def __init__(self):
      super().__init__()
      self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string,
                                                 name="text")])
    def serving_default(self, text):
      ids = self.tokenizer.tokenize(text)
      return {"ids": ids.to_tensor(-1), "lengths": ids.row_lengths()}

  module = Tokenize()
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serving_default.get_concrete_function()], module)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  converter.allow_custom_ops = True
  return tflite_export.signature_runner(
      tflite_export.load_interpreter(model_content=converter.convert()))


def _ids(runner_, texts):
  out = runner_(text=_strings(texts))
  return [row[:n].tolist() for row, n in zip(out["ids"], out["lengths"])]


@pytest.mark.parametrize("kind", ["sp", "wp"])
def test_token_ids_equal_the_original_on_the_fixture_cases(kind):
  spec = (export_utils.TokenizerSpec(spm_model_file=ref.SPM_MODEL)
          if kind == "sp" else export_utils.TokenizerSpec(
              vocab_file=ref.ZH_VOCAB))
  tokenize = _tokenizer_model(tflite_tokenizer.make_tflite_tokenizer(spec))
  cases = ref.tokenization_cases()
  texts = [c["text"] for c in cases]
  singles = [_ids(tokenize, [t])[0] for t in texts]
  assert _ids(tokenize, texts) == singles  # One batch = one call each.
  known = WORDPIECE_KNOWN_DIFFERENT if kind == "wp" else ()
  for case, got in zip(cases, singles):
    if case["text"] in known:
      assert got != case[f"{kind}_ids"], "fixed? update the docs"
    else:
      assert got == case[f"{kind}_ids"], case["text"]


def test_wordpiece_full_width_punctuation_is_the_original_s():
  """Case folding turns "？" into "?"; the tokenizer puts the original's
  piece back where the character is a word of its own. Full-width letters
  join a word and stay folded (docs/export_and_serving.md)."""
  tokenize = _tokenizer_model(tflite_tokenizer.make_tflite_tokenizer(
      export_utils.TokenizerSpec(vocab_file=ref.ZH_VOCAB)))
  from albert_tf import tokenization  # pylint: disable=g-import-not-at-top
  full = tokenization.FullTokenizer(ref.ZH_VOCAB, do_lower_case=True)
  ids = lambda text: full.convert_tokens_to_ids(full.tokenize(text))
  texts = ["吗？好…", "你好，世界！（测试）", "“引号”、《书》", "a\u3000b…c"]
  assert _ids(tokenize, texts) == [ids(t) for t in texts]
  assert ids("吗？") != ids("吗?")
  assert _ids(tokenize, ["ＡＢ"]) == [ids("ab")] != [ids("ＡＢ")]


# -- the pretrained encoder -------------------------------------------------


def _texts(name):
  return fx.texts(name)


@pytest.fixture(scope="module")
def encoder_exports(tmp_path_factory):
  """{name: (tflite path, int8 tflite path, SavedModel signature)}: the
  float32 google_tiny export made by the command line, the rest in
  process."""
  tmp = tmp_path_factory.mktemp("tflite_encoder")
  result = {}
  for name in fx.FLAVORS:
    kwargs = fx.tokenizer_kwargs(name)
    spec = export_utils.TokenizerSpec(**kwargs)
    path = str(tmp / f"{name}_float32")
    if name == "google_tiny":
      flag = "--spm_model_file"
      run = run_module(
          "tfhub_export.export",
          f"--albert_config_file={ref.config_path(name)}",
          f"--checkpoint={ref.checkpoint_prefix(name)}",
          f"{flag}={kwargs['spm_model_file']}", f"--export_path={path}",
          "--export_type=tflite", f"--seq_length={fx.SEQ_LENGTH}")
      assert run.returncode == 0, run.stderr[-3000:]
      assert sorted(os.listdir(tmp)) == [f"{name}_float32"]  # No staging.
      model = os.path.join(path, tflite_export.MODEL_FILENAME)
    else:
      model = tflite_export.export_tflite(
          fx.keras_model(name).encoder, path, tokenizer_spec=spec,
          seq_length=fx.SEQ_LENGTH, output_names=ENCODER_OUTPUTS)
    int8 = tflite_export.export_tflite(
        fx.keras_model(name).encoder, str(tmp / f"{name}_int8"),
        tokenizer_spec=spec, seq_length=fx.SEQ_LENGTH,
        output_names=ENCODER_OUTPUTS, quantization="dynamic_int8")
    saved = serving_export.export_serving_model(
        fx.keras_model(name).encoder, str(tmp / f"{name}_serving"),
        seq_length=fx.SEQ_LENGTH, output_names=ENCODER_OUTPUTS, **kwargs)
    result[name] = (model, int8, tf.saved_model.load(saved).signatures[
        "serving_default"])
  return result


def _run_pairs(path, pairs):
  runner_ = tflite_export.signature_runner(
      tflite_export.load_interpreter(path))
  return runner_(text_a=_strings([a for a, _ in pairs]),
                 text_b=_strings([b for _, b in pairs]))


def _serve_pairs(signature, pairs):
  out = signature(text_a=tf.constant([a for a, _ in pairs]),
                  text_b=tf.constant([b for _, b in pairs]))
  return {k: v.numpy() for k, v in out.items()}


@pytest.mark.slow  # The module's exports take over a minute.
@pytest.mark.parametrize("name", fx.FLAVORS)
def test_encoder_float32_equals_the_saved_model(encoder_exports, name):
  path, _, signature = encoder_exports[name]
  pairs = _texts(name)
  got, want = _run_pairs(path, pairs), _serve_pairs(signature, pairs)
  assert sorted(got) == sorted(want) == ENCODER_OUTPUTS
  for key in want:
    fx.assert_close(got[key], want[key], f"{name} {key}", TFLITE_TOLERANCE)


@pytest.mark.slow  # The module's exports take over a minute.
@pytest.mark.parametrize("name", fx.FLAVORS)
def test_a_batch_equals_single_calls(encoder_exports, name):
  path = encoder_exports[name][0]
  pairs = _texts(name)[:3]
  batch = _run_pairs(path, pairs)
  for i, pair in enumerate(pairs):
    single = _run_pairs(path, [pair])
    for key in batch:
      fx.assert_close(single[key][0], batch[key][i], f"{name} {key} {i}",
                      1e-6)


@pytest.mark.slow  # The module's exports take over a minute.
def test_litert_runs_it_with_tf_text_s_registerers(encoder_exports):
  litert = pytest.importorskip("ai_edge_litert.interpreter")
  from tensorflow_text.core.pybinds import tflite_registrar  # pylint: disable=g-import-not-at-top
  path, _, signature = encoder_exports["google_tiny"]
  interpreter = litert.InterpreterWithCustomOps(
      model_path=path,
      custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS)
  interpreter.allocate_tensors()
  pairs = fx.ENGLISH
  got = interpreter.get_signature_runner(tflite_export.SIGNATURE_KEY)(
      text_a=_strings([a for a, _ in pairs]),
      text_b=_strings([b for _, b in pairs]))
  # LiteRT's kernels are another build: 1.9e-5 from TensorFlow's here.
  want = _serve_pairs(signature, pairs)
  for key in want:
    fx.assert_close(got[key], want[key], key, TFLITE_TOLERANCE)


@pytest.mark.slow  # The module's exports take over a minute.
def test_encoder_float16_is_smaller_and_close(encoder_exports, tmp_path):
  path, _, signature = encoder_exports["google_tiny"]
  float16 = tflite_export.export_tflite(
      fx.keras_model("google_tiny").encoder, str(tmp_path / "float16"),
      tokenizer_spec=export_utils.TokenizerSpec(
          **fx.tokenizer_kwargs("google_tiny")),
      seq_length=fx.SEQ_LENGTH, output_names=ENCODER_OUTPUTS,
      quantization="float16")
  assert os.path.getsize(float16) < os.path.getsize(path)
  got = _run_pairs(float16, fx.ENGLISH)["pooled_output"]
  want = _serve_pairs(signature, fx.ENGLISH)["pooled_output"]
  cosine = _cosines(got, want)
  assert cosine.min() >= 0.999, cosine


def _cosines(got, want):
  """Per example: the cosine of the flattened outputs."""
  got = got.reshape(len(got), -1)
  want = want.reshape(len(want), -1)
  return np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / (
      np.linalg.norm(want, axis=1))


@pytest.mark.slow  # The module's exports take over a minute.
@pytest.mark.parametrize("name", fx.FLAVORS)
def test_encoder_int8_is_smaller_and_close(encoder_exports, name):
  """Dynamic int8 of each original checkpoint (SentencePiece and the
  WordPiece albert_zh one): smaller, and its outputs point where the
  float32 SavedModel's do."""
  path, int8, signature = encoder_exports[name]
  assert os.path.getsize(int8) < os.path.getsize(path)
  pairs = _texts(name)
  got, want = _run_pairs(int8, pairs), _serve_pairs(signature, pairs)
  for key in ENCODER_OUTPUTS:
    cosine = _cosines(got[key], want[key])
    print(f"{name} {key}: dynamic_int8 cosine to float32 min "
          f"{cosine.min():.4f} mean {cosine.mean():.4f}")
    assert cosine.min() >= 0.95, (key, cosine)


# -- fine-tuned tasks ---------------------------------------------------------

SENTENCES = ["the movie was great and lovely", "a terrible plot , awful",
             "lovely acting", "awful , boring and terrible"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
  """A briefly trained SST-2 classifier: its output_dir, its SavedModel's
  serving_default and its dev sentences."""
  tmp = str(tmp_path_factory.mktemp("tflite_classifier"))
  data_dir = finetuning_data.write_sst2(os.path.join(tmp, "sst"),
                                        sizes=(200, 60, 0))
  output_dir = os.path.join(tmp, "out")
  run_classifier.run(run_classifier.defaults(
      task_name="sst-2", data_dir=data_dir, output_dir=output_dir,
      export_dir=os.path.join(tmp, "serving"),
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=ref.SPM_MODEL, max_seq_length=32, do_train=True,
      train_batch_size=16, learning_rate=1e-3, train_step=60,
      warmup_step=6, save_checkpoints_steps=60, iterations_per_loop=60,
      seed=1))
  with open(os.path.join(data_dir, "dev.tsv"), encoding="utf-8") as f:
    dev = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
  signature = tf.saved_model.load(os.path.join(tmp, "serving", "1")
                                  ).signatures["serving_default"]
  return tmp, signature, dev


def _cli_classifier_export(tmp, quantization):
  path = os.path.join(tmp, f"tflite_{quantization}")
  result = run_module(
      "tfhub_export.export", f"--finetuned_dir={os.path.join(tmp, 'out')}",
      "--finetuned_task=classifier",
      f"--albert_config_file={os.path.join(tmp, 'albert_config.json')}",
      f"--spm_model_file={ref.SPM_MODEL}", "--export_type=tflite",
      f"--tflite_quantization={quantization}", f"--export_path={path}")
  assert result.returncode == 0, result.stderr[-3000:]
  return os.path.join(path, tflite_export.MODEL_FILENAME)


@pytest.fixture(scope="module")
def classifier_tflite(classifier):
  tmp = classifier[0]
  return {q: _cli_classifier_export(tmp, q)
          for q in ("none", "dynamic_int8")}


@pytest.mark.slow  # The module's exports take over a minute.
def test_fine_tuned_classifier_float32_equals_the_saved_model(
    classifier, classifier_tflite):
  _, signature, _ = classifier
  pairs = [(s, "") for s in SENTENCES]
  got = _run_pairs(classifier_tflite["none"], pairs)
  want = _serve_pairs(signature, pairs)
  assert sorted(got) == sorted(want)  # Label names included.
  for key, value in want.items():
    if value.dtype == object:
      assert got[key].tolist() == value.tolist(), key
    else:
      fx.assert_close(got[key], value, key, TFLITE_TOLERANCE)


@pytest.mark.slow  # The module's exports take over a minute.
def test_fine_tuned_classifier_int8_agrees_and_is_smaller(
    classifier, classifier_tflite):
  _, _, dev = classifier
  pairs = [(s, "") for s in dev]
  float32 = _run_pairs(classifier_tflite["none"], pairs)["predictions"]
  int8 = _run_pairs(classifier_tflite["dynamic_int8"], pairs)["predictions"]
  agreement = float(np.mean(float32 == int8))
  print(f"dynamic_int8 agrees with float32 on {agreement:.1%} of "
        f"{len(dev)} dev sentences")
  assert agreement >= 0.95
  assert (os.path.getsize(classifier_tflite["dynamic_int8"]) <
          os.path.getsize(classifier_tflite["none"]))


def _untrained_job(task, tmp, **values):
  """A task's job with freshly initialised (seeded) weights: the TFLite
  export must equal the SavedModel for any weights."""
  job = runner.FinetuningJob(task, runner.settings_maker(task)(**dict(
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=ref.SPM_MODEL, output_dir=os.path.join(tmp, "out"),
      max_seq_length=32, do_train=True, train_step=1, warmup_step=0,
      seed=1, **values)))
  zeros = tf.zeros([1, 32], tf.int32)
  job.trainer.model({k: zeros for k in export_utils.INPUT_KEYS},
                    training=False)
  return job


def _both_exports(job, tmp):
  spec = export_utils.TokenizerSpec(spm_model_file=ref.SPM_MODEL)
  model = job.trainer.model
  path = tflite_export.export_task_tflite(
      job.task, model, os.path.join(tmp, "tflite"), tokenizer_spec=spec,
      seq_length=32)
  outputs = job.task.serving_outputs()
  saved = serving_export.export_serving_model(
      job.task.serving_model(model), os.path.join(tmp, "serving"),
      spm_model_file=ref.SPM_MODEL, seq_length=32,
      output_names=(dict(outputs) if isinstance(outputs, dict)
                    else list(outputs)), **job.task.serving_options())
  runner_ = tflite_export.signature_runner(
      tflite_export.load_interpreter(path))
  return runner_, tf.saved_model.load(saved).signatures["serving_default"]


@pytest.mark.slow  # A tagger's SavedModel and TFLite exports.
def test_tagger_numeric_outputs_equal_the_saved_model(tmp_path):
  job = _untrained_job(
      run_token_classification.TASK, str(tmp_path),
      data_dir=finetuning_data.write_dish_csv(str(tmp_path / "dish"),
                                              sizes=(20, 5, 0)),
      entity_type="DISH")
  tflite, saved = _both_exports(job, str(tmp_path))
  # Words separated by spaces: the whole text's pieces are the words'.
  texts = ["i loved the pad thai here .", "we ordered miso soup and wine"]
  got = tflite(text=_strings(texts))
  want = saved(text=tf.constant(texts))
  assert sorted(got) == ["probabilities", "tag_ids"]
  for key in got:
    fx.assert_close(got[key], want[key].numpy(), key, TFLITE_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("version_2", [False, True])
def test_squad_numeric_outputs_equal_the_saved_model(tmp_path, version_2):
  train_file = str(tmp_path / "train.json")
  squad_synthetic.write_squad_file(
      train_file, squad_synthetic.make_dataset(10, 1, version_2,
                                               max_words=40),
      "2.0" if version_2 else "1.1")
  job = _untrained_job(run_squad.TASK, str(tmp_path), train_file=train_file,
                       version_2_with_negative=version_2, doc_stride=16,
                       max_query_length=12, null_score_diff_threshold=0.0)
  tflite, saved = _both_exports(job, str(tmp_path))
  question = [squad_synthetic.QUESTION] * 2
  context = ["Return the list for key Socket from the file.",
             "Return the list from the file."]
  got = tflite(text_a=_strings(question), text_b=_strings(context))
  want = saved(text_a=tf.constant(question), text_b=tf.constant(context))
  assert set(want) - set(got) == {"answer_text"}
  for key in got:
    fx.assert_close(got[key], want[key].numpy(), key, TFLITE_TOLERANCE)


def test_bad_quantization_is_one_error_line(tmp_path):
  assert_refused(
      "tfhub_export.export",
      [f"--albert_config_file={ref.config_path('google_tiny')}",
       f"--checkpoint={ref.checkpoint_prefix('google_tiny')}",
       f"--spm_model_file={ref.SPM_MODEL}",
       f"--export_path={tmp_path / 'out'}", "--export_type=tflite",
       "--tflite_quantization=int4"],
      "tflite_quantization", watch=str(tmp_path))


def test_quantization_without_tflite_export_is_refused(tmp_path):
  from albert_tf import settings as settings_lib  # pylint: disable=g-import-not-at-top
  from albert_tf.errors import FlagError  # pylint: disable=g-import-not-at-top
  from tfhub_export import export  # pylint: disable=g-import-not-at-top
  settings = settings_lib.defaults(
      export.ExportSettings, albert_config_file=ref.config_path("google_tiny"),
      checkpoint=ref.checkpoint_prefix("google_tiny"),
      spm_model_file=ref.SPM_MODEL, export_path=str(tmp_path / "out"),
      export_type="serving", tflite_quantization="dynamic_int8")
  with pytest.raises(FlagError, match="--export_type=tflite only"):
    export.run(settings, log=lambda *_: None)
  assert not os.listdir(tmp_path)
