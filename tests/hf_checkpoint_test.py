"""Hugging Face ALBERT directories (save_pretrained) load into albert_tf."""

import numpy as np
import pytest
import torch
import transformers

import hf_models
from hf_models import TORCH_TOLERANCE
from albert_tf import checkpoints
from albert_tf.checkpoints import hf_checkpoint
from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.modeling import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.multiple_choice_model import MultipleChoiceModel
from albert_tf.tasks.squad.model import SquadModel
from albert_tf.tasks.token_classifier_model import TokenClassifierModel


def _close(ours, theirs, what):
  np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(),
                             atol=TORCH_TOLERANCE, rtol=0, err_msg=what)


@pytest.mark.parametrize("groups,inner,act", [
    (1, 1, "gelu_new"),
    (2, 2, "gelu"),
    (2, 1, "relu"),
    (1, 2, "gelu"),
])
def test_pretraining_model_matches_transformers(groups, inner, act, tmp_path):
  hf_config = hf_models.tiny_config(groups, inner, act)
  hf_model = hf_models.random_model(transformers.AlbertForPreTraining,
                                    hf_config, seed=groups * 10 + inner)
  directory = hf_models.save(hf_model, tmp_path / "hf")

  config = hf_checkpoint.read_hf_config(directory)
  assert config.hidden_act == {"gelu_new": "gelu", "gelu": "gelu_exact",
                               "relu": "relu"}[act]
  model = AlbertPretrainer(config)
  report = checkpoints.load_checkpoint(model, directory)
  assert report.unused == [] and report.left_as_is == []

  features = hf_models.inputs()
  positions = np.array([[1, 4, 7]] * 3, np.int32)
  ours = model(dict(features, masked_lm_positions=positions), training=False)
  with torch.no_grad():
    theirs = hf_model(**hf_models.torch_inputs(features),
                      output_hidden_states=True)
    base = hf_model.albert(**hf_models.torch_inputs(features))
  _close(ours["sequence_output"], base.last_hidden_state, "sequence_output")
  _close(ours["pooled_output"], base.pooler_output, "pooled_output")
  mlm = theirs.prediction_logits[torch.arange(3)[:, None],
                                 torch.tensor(positions, dtype=torch.long)]
  _close(ours["mlm_logits"], mlm, "mlm logits")
  _close(ours["sop_logits"], theirs.sop_logits, "sop logits")


def test_pytorch_bin_and_albert_model_without_prefix(tmp_path):
  hf_config = hf_models.tiny_config()
  hf_model = hf_models.random_model(transformers.AlbertModel, hf_config)
  directory = hf_models.save(hf_model, tmp_path / "hf",
                             pytorch_pickle=True)
  encoder = AlbertEncoder(hf_checkpoint.read_hf_config(directory))
  report = checkpoints.load_checkpoint(encoder, directory)
  assert report.weights_file.endswith("pytorch_model.bin")
  features = hf_models.inputs()
  with torch.no_grad():
    theirs = hf_model(**hf_models.torch_inputs(features))
  ours = encoder(features, training=False)
  _close(ours["sequence_output"], theirs.last_hidden_state, "sequence")
  _close(ours["pooled_output"], theirs.pooler_output, "pooled")


def test_masked_lm_loads_and_leaves_sop_head(tmp_path):
  hf_model = hf_models.random_model(transformers.AlbertForMaskedLM,
                                    hf_models.tiny_config())
  directory = hf_models.save(hf_model, tmp_path / "hf")
  model = AlbertPretrainer(hf_checkpoint.read_hf_config(directory))
  report = checkpoints.load_checkpoint(model, directory)
  assert report.left_as_is == ["pooler",
                               "sentence-order head (sop_classifier)"]
  features = hf_models.inputs()
  positions = np.array([[0, 2, 9]] * 3, np.int32)
  ours = model(dict(features, masked_lm_positions=positions), training=False)
  with torch.no_grad():
    logits = hf_model(**hf_models.torch_inputs(features)).logits
  _close(ours["mlm_logits"], logits[torch.arange(3)[:, None],
                                    torch.tensor(positions, dtype=torch.long)],
         "mlm logits")


def _task_case(kind, encoder):
  if kind == "sequence":
    return (transformers.AlbertForSequenceClassification,
            ClassifierModel(encoder, 3), "logits")
  if kind == "token":
    return (transformers.AlbertForTokenClassification,
            TokenClassifierModel(encoder, 3), "logits")
  if kind == "qa":
    return transformers.AlbertForQuestionAnswering, SquadModel(
        encoder.config, encoder=encoder), None
  return (transformers.AlbertForMultipleChoice,
          MultipleChoiceModel(encoder, num_choices=2), "logits")


@pytest.mark.parametrize("kind", ["sequence", "token", "qa", "choice"])
def test_task_heads_match_transformers(kind, tmp_path):
  hf_config = hf_models.tiny_config(2, 1, "gelu_new",
                                   num_labels=2 if kind == "qa" else 3)
  encoder = AlbertEncoder(AlbertConfig.from_dict(hf_config.to_dict()))
  hf_class, model, key = _task_case(kind, encoder)
  hf_model = hf_models.random_model(hf_class, hf_config, seed=7)
  directory = hf_models.save(hf_model, tmp_path / "hf")
  checkpoints.load_hf_checkpoint(model, directory)

  features = hf_models.inputs()
  if kind == "choice":
    features = {k: np.stack([v[:2], v[1:]], 0) for k, v in features.items()}
  with torch.no_grad():
    theirs = hf_model(**hf_models.torch_inputs(features))
  ours = model(features, training=False)
  if kind == "qa":
    _close(ours["start_logits"], theirs.start_logits, "start")
    _close(ours["end_logits"], theirs.end_logits, "end")
  else:
    _close(ours[key], theirs.logits, f"{kind} logits")


def test_label_names_come_from_id2label(tmp_path):
  hf_config = hf_models.tiny_config(
      num_labels=2, id2label={0: "negative", 1: "positive"})
  hf_model = hf_models.random_model(
      transformers.AlbertForSequenceClassification, hf_config)
  directory = hf_models.save(hf_model, tmp_path / "hf")
  assert hf_checkpoint.hf_label_names(directory) == ["negative", "positive"]
  config_file, spm = checkpoints.resolve_model_files(directory, None, None)
  assert config_file.endswith("config.json") and spm is None
  # The config.json also reads as an albert_config_file, HF's names and
  # defaults understood ("gelu" is the erf form there).
  from_file = AlbertConfig.from_json_file(config_file)
  assert (from_file.embedding_size, from_file.hidden_act) == (8, "gelu")
  assert AlbertConfig.from_dict(
      {**hf_config.to_dict(), "hidden_act": "gelu"}).hidden_act == "gelu_exact"
  with pytest.raises(AlbertConfigError, match="model_type is 'bert'"):
    AlbertConfig.from_dict({"model_type": "bert", "vocab_size": 5})


def test_encoder_init_accepts_hf_directory(tmp_path):
  from albert_tf.checkpoints import encoder_init
  hf_model = hf_models.random_model(transformers.AlbertForPreTraining,
                                    hf_models.tiny_config())
  directory = hf_models.save(hf_model, tmp_path / "hf")
  encoder = AlbertEncoder(hf_checkpoint.read_hf_config(directory))
  message = encoder_init.init_encoder(encoder, directory)
  assert "Hugging Face" in message
  np.testing.assert_array_equal(
      encoder.embeddings.word_embeddings.numpy(),
      hf_model.albert.embeddings.word_embeddings.weight.detach().numpy())


def test_bad_directories_are_refused_and_nothing_assigned(tmp_path):
  hf_model = hf_models.random_model(transformers.AlbertForPreTraining,
                                    hf_models.tiny_config())
  directory = tmp_path / "hf"
  hf_models.save(hf_model, directory)
  encoder = AlbertEncoder(hf_checkpoint.read_hf_config(directory))
  before = encoder.embeddings.word_embeddings.numpy().copy()

  from safetensors.numpy import load_file, save_file
  weights = directory / "model.safetensors"
  tensors = load_file(str(weights))
  del tensors["albert.pooler.weight"]
  tensors["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.bias"] = (
      np.zeros([5], np.float32))
  save_file(tensors, str(weights), metadata={"format": "pt"})
  with pytest.raises(checkpoints.CheckpointMismatchError) as error:
    checkpoints.load_checkpoint(encoder, str(directory))
  assert "albert.pooler.weight" in str(error.value)
  assert "ffn.bias: file [5], expected [24]" in str(error.value)
  np.testing.assert_array_equal(encoder.embeddings.word_embeddings.numpy(),
                                before)

  bert = tmp_path / "bert"
  bert.mkdir()
  (bert / "config.json").write_text('{"model_type": "bert"}')
  with pytest.raises(checkpoints.CheckpointError, match="'bert'"):
    checkpoints.load_checkpoint(encoder, str(bert))


def test_pytorch_bin_without_torch_names_the_file(tmp_path, monkeypatch):
  hf_model = hf_models.random_model(transformers.AlbertModel,
                                    hf_models.tiny_config())
  directory = hf_models.save(hf_model, tmp_path / "hf", pytorch_pickle=True)
  monkeypatch.setitem(__import__("sys").modules, "torch", None)
  with pytest.raises(checkpoints.CheckpointError,
                     match="pytorch_model.bin is a PyTorch pickle, which "
                           "needs torch"):
    hf_checkpoint.read_hf_tensors(directory)


def test_tfhub_export_loads_hf_directory_with_its_files(tmp_path):
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  hf_model = hf_models.random_model(transformers.AlbertForPreTraining,
                                    hf_models.tiny_config())
  directory = hf_models.save(hf_model, tmp_path / "hf")
  (tmp_path / "hf" / "spiece.model").write_bytes(b"stand-in")
  config_file, spm = checkpoints.resolve_model_files(directory, None, None)
  assert spm == str(tmp_path / "hf" / "spiece.model")
  # Given files win; a vocab file means no SentencePiece default.
  assert checkpoints.resolve_model_files(
      directory, "mine.json", None, vocab_file="v.txt") == ("mine.json", None)
  loaded = export_utils.load_model(config_file, directory)
  assert loaded.has_heads
  np.testing.assert_array_equal(
      loaded.pretrainer.masked_lm.output_bias.numpy(),
      hf_model.predictions.bias.detach().numpy())
