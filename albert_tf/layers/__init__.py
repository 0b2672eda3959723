"""Keras layers that reimplement the original ALBERT TF1 graph."""

from albert_tf.layers.albert_embeddings import AlbertEmbeddings
from albert_tf.layers.layer_norm import Tf1LayerNorm
from albert_tf.layers.self_attention import SelfAttention
from albert_tf.layers.self_attention import attention_mask_adder
from albert_tf.layers.transformer_block import TransformerBlock
from albert_tf.layers.transformer_group import TransformerGroup
