"""albert_tf: ALBERT for TensorFlow 2 / Keras, faithful to the original release."""

from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.modeling.losses import pretraining_losses
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
from albert_tf.presets import get_preset

__version__ = "0.1.0"
