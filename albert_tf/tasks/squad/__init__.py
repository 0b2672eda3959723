"""SQuAD v1.1 / v2.0 fine-tuning pieces, faithful to the original run_squad.

examples.py (JSON → SquadExample), features.py (SentencePiece pieces aligned
to characters, doc_stride windows), heads.py / model.py (the v1 and v2
heads), postprocessing.py (n-best decoding, null threshold, prediction
files), evaluation.py (the official EM/F1 logic), serving.py (in-graph answer
decoding for the TF Serving export).
"""

from albert_tf.tasks.squad.evaluation import evaluate_v1
from albert_tf.tasks.squad.evaluation import evaluate_v2
from albert_tf.tasks.squad.examples import SquadDataError
from albert_tf.tasks.squad.examples import SquadExample
from albert_tf.tasks.squad.examples import read_squad_examples
from albert_tf.tasks.squad.window_features import InputFeatures
from albert_tf.tasks.squad.window_features import convert_examples_to_features
from albert_tf.tasks.squad.model import SquadModel
