"""Chinese whole-word masking as in RoBERTa-wwm-ext / albert_zh.

BERT's WordPiece splits Chinese into single characters, so whole-word masking
alone masks characters. These helpers segment the line into words (jieba)
and mark every character that continues a word with "##", which makes the
masking treat the word as one unit; the marker is removed again when tokens
become ids, so the model sees plain characters.
"""

from albert_tf.errors import MissingExtraError
from albert_tf.tokenization import python_tokenizer

MARKER = "##"


def _is_chinese_token(token):
  return len(token) == 1 and python_tokenizer.is_chinese_char(ord(token))


def load_segmenter():
  """jieba's lcut; a clear error when the optional extra is missing."""
  try:
    import jieba  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise MissingExtraError(
        "--zh_whole_word_mask needs jieba: pip install 'albert_tf[zh]'"
        ) from e
  jieba.setLogLevel(60)  # Silence its dictionary-loading messages.
  return jieba.lcut


def mark_whole_words(tokens, words):
  """Prefixes "##" to Chinese characters that continue one of `words`.

  Like albert_zh's get_new_segment: at each Chinese character, the longest
  run of following tokens that spells one of the segmenter's words is taken
  as a word.
  """
  vocabulary = {w for w in words if len(w) > 1}
  longest = max((len(w) for w in vocabulary), default=1)
  output = []
  i = 0
  while i < len(tokens):
    if not _is_chinese_token(tokens[i]):
      output.append(tokens[i])
      i += 1
      continue
    for length in range(min(longest, len(tokens) - i), 1, -1):
      if "".join(tokens[i:i + length]) in vocabulary:
        output.append(tokens[i])
        output.extend(MARKER + t for t in tokens[i + 1:i + length])
        i += length
        break
    else:
      output.append(tokens[i])
      i += 1
  return output


def strip_marker(token):
  """"##中" → "中"; every other token unchanged."""
  if token.startswith(MARKER) and _is_chinese_token(token[len(MARKER):]):
    return token[len(MARKER):]
  return token
