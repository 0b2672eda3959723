"""RE2 character classes built from Python's own Unicode predicates.

The original tokenizers decide with str.isspace, str.isdigit,
unicodedata.combining and unicodedata.category. RE2's built-in classes
(\\s, \\d, \\p{M}, \\p{P}) differ from those in many characters, so the graph
uses classes enumerated from the very predicates the Python code calls.
"""

import functools
import re
import sys
import unicodedata

from albert_tf.tokenization import python_tokenizer


def _character_class(predicate):
  """An RE2 class "[...]" of every code point where predicate(char) holds."""
  ranges = []
  for cp in range(sys.maxunicode + 1):
    if 0xD800 <= cp <= 0xDFFF:  # Surrogates never occur in valid UTF-8.
      continue
    if predicate(chr(cp)):
      if ranges and ranges[-1][1] == cp - 1:
        ranges[-1][1] = cp
      else:
        ranges.append([cp, cp])
  parts = []
  for lo, hi in ranges:
    parts.append(f"\\x{{{lo:X}}}" if lo == hi else
                 f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
  return "[" + "".join(parts) + "]"


@functools.lru_cache(maxsize=None)
def whitespace():
  """Characters str.split() splits on."""
  return _character_class(str.isspace)


@functools.lru_cache(maxsize=None)
def digit():
  """Characters for which str.isdigit() is true (the digit-comma rule)."""
  return _character_class(str.isdigit)


@functools.lru_cache(maxsize=None)
def combining():
  """Characters preprocess_text drops: unicodedata.combining(c) != 0."""
  return _character_class(unicodedata.combining)


@functools.lru_cache(maxsize=None)
def nonspacing_mark():
  """Category Mn: what BasicTokenizer's accent stripping drops."""
  return _character_class(lambda c: unicodedata.category(c) == "Mn")


@functools.lru_cache(maxsize=None)
def bert_removed():
  """What BasicTokenizer._clean_text deletes: NUL, U+FFFD, Cc/Cf controls."""
  return _character_class(lambda c: ord(c) in (0, 0xFFFD) or
                          python_tokenizer.is_control(c))


@functools.lru_cache(maxsize=None)
def bert_split_kept():
  """Characters that become tokens of their own: punctuation and CJK."""
  return _character_class(lambda c: python_tokenizer.is_punctuation(c) or
                          python_tokenizer.is_chinese_char(ord(c)))


@functools.lru_cache(maxsize=None)
def word_punctuation():
  """Python's `[^\\w\\s]` (str patterns): the characters token_data makes
  words of their own (its words are runs of `\\w` between whitespace(),
  which is Python's `\\s` too)."""
  return _character_class(lambda c: re.fullmatch(r"[^\w\s]", c) is not None)
