"""Pretraining heads of the original graph."""

from albert_tf.heads.masked_lm_head import MaskedLMHead
from albert_tf.heads.sentence_order_head import SentenceOrderHead
