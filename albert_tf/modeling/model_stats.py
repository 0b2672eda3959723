"""Parameter counts, FLOPs and weight memory of an ALBERT config, in closed form.

Counts are of unique weights (a shared group counts once), exactly as the
original graph creates them; tests check them against the built Keras models
and testdata/param_counts.json.
"""

import dataclasses

from albert_tf.config import FLAVOR_GOOGLE


@dataclasses.dataclass
class ModelStats:
  """Sizes of one config. FLOPs count matmuls only (2 per multiply-add)."""
  embedding_params: int  # Embeddings, their LayerNorm and the E→H projection.
  transformer_params: int  # All unique transformer blocks.
  pooler_params: int
  head_params: int  # cls/predictions (bar the tied embeddings) + SOP.
  seq_length: int
  forward_flops_per_token: int  # Encoder forward pass, at seq_length.
  mlm_flops_per_prediction: int  # MLM head, per masked position.

  @property
  def encoder_params(self):
    """Everything the encoder owns (what TF Hub encoders ship)."""
    return self.embedding_params + self.transformer_params + self.pooler_params

  @property
  def total_params(self):
    return self.encoder_params + self.head_params

  def weight_bytes(self, bytes_per_param=4):
    return self.total_params * bytes_per_param

  def as_dict(self):
    return {
        "params": {
            "embeddings": self.embedding_params,
            "transformer": self.transformer_params,
            "pooler": self.pooler_params,
            "encoder_total": self.encoder_params,
            "pretraining_heads": self.head_params,
            "total_with_heads": self.total_params,
        },
        "seq_length": self.seq_length,
        "forward_flops_per_token": self.forward_flops_per_token,
        "forward_gflops_per_sequence":
            self.forward_flops_per_token * self.seq_length / 1e9,
        "mlm_head_flops_per_prediction": self.mlm_flops_per_prediction,
        "weight_memory_bytes": {
            "float32": self.weight_bytes(4),
            "bfloat16": self.weight_bytes(2),
        },
    }


def _dense(n_in, n_out):
  return n_in * n_out + n_out


def compute_stats(config, seq_length=None):
  """ModelStats for `config` at `seq_length` (default max_position_embeddings)."""
  c = config
  seq_length = seq_length or c.max_position_embeddings
  if not 0 < seq_length <= c.max_position_embeddings:
    raise ValueError(f"seq_length must be in [1, {c.max_position_embeddings}]"
                     f" (max_position_embeddings), got {seq_length}")
  e, h, i = c.embedding_size, c.hidden_size, c.intermediate_size
  google = c.flavor == FLAVOR_GOOGLE
  width = e if google else h  # Width of type/position embeddings and LN.
  embedding = c.vocab_size * e + (c.type_vocab_size +
                                  c.max_position_embeddings + 2) * width
  projection_flops = 0
  if not google:
    embedding += e * h  # word_embeddings_2, no bias.
    projection_flops = 2 * e * h
  elif e != h:
    embedding += _dense(e, h)  # embedding_hidden_mapping_in.
    projection_flops = 2 * e * h
  block = 4 * _dense(h, h) + 2 * 2 * h + _dense(h, i) + _dense(i, h)
  transformer = block * c.num_hidden_groups * c.inner_group_num
  pooler = _dense(h, h)
  transform_width = e if google else h
  heads = (_dense(h, transform_width) + 2 * transform_width + c.vocab_size +
           2 * h + 2)

  block_flops = 2 * (4 * h * h + 2 * h * i) + 2 * 2 * seq_length * h
  blocks_run = c.num_hidden_layers * c.inner_group_num
  # The pooler runs once per sequence; spread it over the sequence's tokens.
  forward_flops = (projection_flops + blocks_run * block_flops +
                   (2 * h * h) // seq_length)
  mlm_flops = 2 * h * transform_width + 2 * e * c.vocab_size
  if not google:
    mlm_flops += 2 * h * e  # Back through word_embeddings_2.
  return ModelStats(
      embedding_params=embedding, transformer_params=transformer,
      pooler_params=pooler, head_params=heads, seq_length=seq_length,
      forward_flops_per_token=forward_flops, mlm_flops_per_prediction=mlm_flops)
