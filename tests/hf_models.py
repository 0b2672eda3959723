"""Small random transformers ALBERT models, saved locally (no downloads)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # pylint: disable=g-import-not-at-top
import torch  # pylint: disable=g-import-not-at-top
import transformers  # pylint: disable=g-import-not-at-top

# Agreement required with transformers (PyTorch).
TORCH_TOLERANCE = 1e-4


def tiny_config(num_hidden_groups=1, inner_group_num=1, hidden_act="gelu_new",
                vocab_size=97, **overrides):
  """A transformers AlbertConfig small enough for a test, E ≠ H."""
  values = dict(
      vocab_size=vocab_size, embedding_size=8, hidden_size=16,
      num_hidden_layers=4, num_hidden_groups=num_hidden_groups,
      num_attention_heads=2, intermediate_size=24,
      inner_group_num=inner_group_num, hidden_act=hidden_act,
      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
      max_position_embeddings=32, type_vocab_size=2,
      # Large weights, so a wrong layout or constant shows in the outputs.
      initializer_range=0.3)
  values.update(overrides)
  return transformers.AlbertConfig(**values)


def random_model(model_class, config, seed=0):
  """A seeded model of `model_class` (e.g. transformers.AlbertForPreTraining)
  with perturbed LayerNorms and biases, in eval mode."""
  torch.manual_seed(seed)
  model = model_class(config)
  with torch.no_grad():
    for name, parameter in model.named_parameters():
      if name.endswith("bias") or "LayerNorm" in name:
        parameter.add_(0.2 * torch.randn_like(parameter))
  return model.eval()


def save(model, directory, pytorch_pickle=False):
  """save_pretrained; pytorch_pickle: pytorch_model.bin instead of
  model.safetensors, as older transformers wrote (newer ones cannot)."""
  model.save_pretrained(directory)
  if pytorch_pickle:
    os.remove(os.path.join(directory, "model.safetensors"))
    torch.save(model.state_dict(),
               os.path.join(directory, "pytorch_model.bin"))
  return str(directory)


def inputs(batch_size=3, seq_length=11, vocab_size=97, seed=1):
  """input_word_ids / input_mask / input_type_ids with padding per row."""
  rng = np.random.default_rng(seed)
  word_ids = rng.integers(5, vocab_size, [batch_size, seq_length],
                          dtype=np.int32)
  mask = np.ones_like(word_ids)
  type_ids = np.zeros_like(word_ids)
  for row in range(batch_size):
    mask[row, seq_length - 2 * row:] = 0
    type_ids[row, seq_length // 2:] = 1
  return {"input_word_ids": word_ids, "input_mask": mask,
          "input_type_ids": type_ids}


def torch_inputs(features):
  """transformers' keyword arguments for our input dict."""
  return {
      "input_ids": torch.tensor(features["input_word_ids"], dtype=torch.long),
      "attention_mask": torch.tensor(features["input_mask"],
                                     dtype=torch.long),
      "token_type_ids": torch.tensor(features["input_type_ids"],
                                     dtype=torch.long),
  }
