"""Keras layers that reimplement the original ALBERT TF1 graph."""

from albert_tf.modeling.layers.albert_embeddings import AlbertEmbeddings
from albert_tf.modeling.layers.layer_norm import Tf1LayerNorm
from albert_tf.modeling.layers.self_attention import SelfAttention
from albert_tf.modeling.layers.self_attention import attention_mask_adder
from albert_tf.modeling.layers.transformer_block import TransformerBlock
from albert_tf.modeling.layers.transformer_group import TransformerGroup
