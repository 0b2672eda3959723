"""Tokenization: the original Python tokenizers and their in-graph twins.

Python side (import-light, no TensorFlow):
  python_tokenizer      the original tokenization.py: FullTokenizer for
                        SentencePiece or WordPiece, preprocess_text, ...
  python_input_packer   [CLS] A [SEP] (B [SEP]) packing and the original
                        fine-tuning truncation, on Python lists

In-graph twins (tensorflow_text; what the exported SavedModels and TF
Serving run, tested equal to the Python side):
  graph_sentencepiece_tokenizer, graph_wordpiece_tokenizer,
  graph_input_packer, with graph_validation and unicode_classes

`from albert_tf import tokenization; tokenization.FullTokenizer(...)` works
as in the original repository. The in-graph names below are imported on first
use, so the Python tokenizer does not pull TensorFlow in.
"""

import importlib

from albert_tf.tokenization.python_tokenizer import FullTokenizer
from albert_tf.tokenization.python_tokenizer import TokenizerError
from albert_tf.tokenization.python_tokenizer import convert_to_unicode
from albert_tf.tokenization.python_tokenizer import encode_ids
from albert_tf.tokenization.python_tokenizer import encode_pieces
from albert_tf.tokenization.python_tokenizer import load_vocab
from albert_tf.tokenization.python_tokenizer import preprocess_text
from albert_tf.tokenization.python_tokenizer import printable_text

_GRAPH_NAMES = {
    "InputPacker": "graph_input_packer",
    "longest_first_lengths": "graph_input_packer",
    "SentencepieceGraphTokenizer": "graph_sentencepiece_tokenizer",
    "WordpieceGraphTokenizer": "graph_wordpiece_tokenizer",
}


def __getattr__(name):
  if name in _GRAPH_NAMES:
    module = importlib.import_module(
        f"albert_tf.tokenization.{_GRAPH_NAMES[name]}")
    return getattr(module, name)
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_graph_tokenizer(vocab_file=None, spm_model_file=None,
                         do_lower_case=True):
  """The in-graph twin of FullTokenizer for the same files."""
  if spm_model_file:
    from albert_tf.tokenization.graph_sentencepiece_tokenizer import SentencepieceGraphTokenizer  # pylint: disable=g-import-not-at-top
    return SentencepieceGraphTokenizer(spm_model_file,
                                       lower_case=do_lower_case)
  if not vocab_file:
    raise ValueError("pass a vocab_file (WordPiece) or an spm_model_file")
  from albert_tf.tokenization.graph_wordpiece_tokenizer import WordpieceGraphTokenizer  # pylint: disable=g-import-not-at-top
  return WordpieceGraphTokenizer(vocab_file, lower_case=do_lower_case)
