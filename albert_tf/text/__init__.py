"""In-graph text processing that matches albert_tf.tokenization exactly.

Built on tensorflow_text, so exported SavedModels (and TF Serving, which
links the TF Text ops) tokenize exactly like the original Python code.
"""

from albert_tf.text.input_packer import InputPacker
from albert_tf.text.input_packer import longest_first_lengths
from albert_tf.text.sentencepiece_tokenizer import SentencepieceGraphTokenizer
from albert_tf.text.wordpiece_tokenizer import WordpieceGraphTokenizer


def make_graph_tokenizer(vocab_file=None, spm_model_file=None,
                         do_lower_case=True):
  """The in-graph twin of tokenization.FullTokenizer for the same files."""
  if spm_model_file:
    return SentencepieceGraphTokenizer(spm_model_file,
                                       lower_case=do_lower_case)
  if not vocab_file:
    raise ValueError("pass a vocab_file (WordPiece) or an spm_model_file")
  return WordpieceGraphTokenizer(vocab_file, lower_case=do_lower_case)
