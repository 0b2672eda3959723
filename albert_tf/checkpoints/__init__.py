"""Checkpoint I/O: original TF1 names and Hugging Face ALBERT directories in
both directions, and native TF2."""

from albert_tf.checkpoints.integrity import CheckpointNotFoundError
from albert_tf.checkpoints.integrity import DamagedCheckpointError
from albert_tf.checkpoints.integrity import UnreadableCheckpointError
from albert_tf.checkpoints.integrity import latest_readable_checkpoint
from albert_tf.checkpoints.integrity import verify_checkpoint
from albert_tf.checkpoints.integrity import write_checkpoint_state
from albert_tf.checkpoints.name_map import tf1_variable_map
from albert_tf.checkpoints.tf1_checkpoint import CheckpointMismatchError
from albert_tf.checkpoints.tf1_checkpoint import LoadReport
from albert_tf.checkpoints.tf1_checkpoint import detect_flavor
from albert_tf.checkpoints.tf1_checkpoint import load_tf1_checkpoint
from albert_tf.checkpoints.tf1_checkpoint import resolve_checkpoint
from albert_tf.checkpoints.tf1_checkpoint import save_tf1_checkpoint
from albert_tf.checkpoints.tf2_checkpoint import is_tf2_checkpoint
from albert_tf.checkpoints.tf2_checkpoint import load_checkpoint
from albert_tf.checkpoints.tf2_checkpoint import load_tf2_checkpoint
from albert_tf.checkpoints.tf2_checkpoint import save_tf2_checkpoint
from albert_tf.checkpoints.hf_checkpoint import HfLoadReport
from albert_tf.checkpoints.hf_checkpoint import is_hf_directory
from albert_tf.checkpoints.hf_checkpoint import load_hf_checkpoint
from albert_tf.checkpoints.hf_checkpoint import resolve_model_files
from albert_tf.checkpoints.hf_export import save_hf_directory
from albert_tf.errors import CheckpointError
