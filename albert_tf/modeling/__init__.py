"""The ALBERT networks and their parts.

  layers/             Keras layers reimplementing the original TF1 graph
                      (factorized embeddings, self-attention, the shared
                      transformer block and group, TF1 LayerNorm)
  heads/              the pretraining heads (masked LM, sentence order)
  albert_encoder      AlbertEncoder: embeddings + shared groups + pooler
  albert_pretrainer   AlbertPretrainer: encoder + MLM and SOP heads
  activations, losses, model_stats (closed-form parameter/FLOP counts)
"""

from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
