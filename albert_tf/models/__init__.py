"""ALBERT networks."""

from albert_tf.models.albert_encoder import AlbertEncoder
from albert_tf.models.albert_pretrainer import AlbertPretrainer
