"""Pretraining heads of the original graph."""

from albert_tf.modeling.heads.masked_lm_head import MaskedLMHead
from albert_tf.modeling.heads.sentence_order_head import SentenceOrderHead
