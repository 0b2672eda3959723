"""SQuAD examples → model features, as the original squad_utils does it.

The question is SentencePiece-encoded (after preprocess_text) and cut to
max_query_length pieces. The paragraph is encoded into pieces whose text
("▁" read as a space) is aligned character by character with the raw
paragraph by a banded longest-common-subsequence match: this survives what
preprocess_text changes (collapsed whitespace, accents dropped by NFKD,
lowercasing) and maps every piece back to a character range of the original
text, so predicted spans are cut from the raw paragraph. Paragraphs longer
than the room left beside the question are split into windows that advance
by doc_stride pieces; each piece is scored in the window where it has the
most context on both sides ("max context"), and only there may an answer
start.

Inputs are `[CLS] question [SEP] paragraph-window [SEP]` with segment ids
0…0 1…1, right-padded. `p_mask` is 1 where an answer cannot be (question,
separators, padding) and 0 on [CLS] and the paragraph. In training, a
window that does not contain the whole answer — and every window of an
impossible question — is labelled start = end = 0 (the [CLS] position) and
is_impossible.

The original supports only SentencePiece; a WordPiece FullTokenizer
(vocab_file) works here too: its pieces are aligned the same way, a piece
without "##" counting as preceded by a space.
"""

import collections
import dataclasses
import logging
from typing import Dict, List, Optional

import numpy as np

from albert_tf.tokenization import python_tokenizer

# The original's first unique id.
FIRST_UNIQUE_ID = 1000000000

DocSpan = collections.namedtuple("DocSpan", ["start", "length"])


@dataclasses.dataclass
class InputFeatures:
  """One window of one example, padded to max_seq_length.

  tok_start_to_orig_index / tok_end_to_orig_index give, for each paragraph
  piece of the window, the first / last character of the raw paragraph it
  covers. token_is_max_context is keyed by position in input_ids. doc_offset
  is the position of the window's first paragraph piece (the original finds
  it as tokens.index("[SEP]") + 1).
  """
  unique_id: int
  example_index: int
  doc_span_index: int
  tok_start_to_orig_index: List[int]
  tok_end_to_orig_index: List[int]
  token_is_max_context: Dict[int, bool]
  input_ids: List[int]
  input_mask: List[int]
  segment_ids: List[int]
  p_mask: List[int]
  paragraph_len: int
  doc_offset: int
  start_position: Optional[int] = None
  end_position: Optional[int] = None
  is_impossible: bool = False


class SquadTokenizer:
  """The original SQuAD reader's use of a FullTokenizer.

  SentencePiece: preprocess_text(lower=do_lower_case), then encode_pieces
  (with the digit-comma rule). WordPiece: FullTokenizer.tokenize.
  """

  def __init__(self, tokenizer, do_lower_case=True):
    self.tokenizer = tokenizer
    self.do_lower_case = do_lower_case
    self.is_sentencepiece = tokenizer.sp_model is not None
    cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    self.cls_id = cls_id
    self.sep_id = sep_id

  def pieces(self, text):
    if self.is_sentencepiece:
      return python_tokenizer.encode_pieces(
          self.tokenizer.sp_model,
          python_tokenizer.preprocess_text(text, lower=self.do_lower_case))
    return self.tokenizer.tokenize(text)

  def ids(self, pieces):
    return self.tokenizer.convert_tokens_to_ids(pieces)

  def piece_text(self, piece):
    """The characters a piece stands for, a leading space included."""
    if self.is_sentencepiece:
      return piece.replace(python_tokenizer.SPIECE_UNDERLINE, " ")
    if piece.startswith("##"):
      return piece[2:]
    return " " + piece

  def normalize_char(self, char):
    """One raw character as it appears in piece text (may be 0-2 chars)."""
    return python_tokenizer.preprocess_text(
        char, lower=self.do_lower_case, remove_space=False)


_UNSET = 255


def _banded_lcs(orig_chars, tok_text, max_dist):
  """LCS of two strings restricted to |i - j| < max_dist, as the original.

  Returns (length at the last cell, back pointers): back[i] is a bytearray
  over row i's band [max(0, i - max_dist), min(m, i + max_dist)) holding 0
  (from i-1), 1 (from j-1), 2 (a match) or _UNSET where the original sets
  no pointer. As in the original, cells outside the band read as 0.
  """
  n, m = len(orig_chars), len(tok_text)
  back = []
  prev_row, prev_lo = [], 0
  for i in range(n):
    lo, hi = max(0, i - max_dist), min(m, i + max_dist)
    row = [0] * max(0, hi - lo)
    pointers = bytearray([_UNSET]) * len(row)
    char = orig_chars[i]
    prev_hi = prev_lo + len(prev_row)
    for j in range(lo, hi):
      k = j - lo
      best = 0
      if i > 0:
        pointers[k] = 0
        best = prev_row[j - prev_lo] if prev_lo <= j < prev_hi else 0
      if j > 0:
        left = row[k - 1] if k > 0 else 0
        if left > best:
          pointers[k] = 1
          best = left
      if i > 0 and j > 0 and prev_lo <= j - 1 < prev_hi:
        diagonal = prev_row[j - 1 - prev_lo]
      else:
        diagonal = 0
      if char == tok_text[j] and diagonal + 1 > best:
        pointers[k] = 2
        best = diagonal + 1
      row[k] = best
    back.append((lo, pointers))
    prev_row, prev_lo = row, lo
  last = 0
  if n and m:
    lo = back[n - 1][0]
    if lo <= m - 1 < lo + len(prev_row):
      last = prev_row[m - 1 - lo]
  return last, back


def _pointer(back, i, j):
  lo, pointers = back[i]
  if lo <= j < lo + len(pointers):
    return pointers[j - lo]
  return _UNSET


def align_characters(paragraph_text, tok_text, normalize_char):
  """Maps raw characters ↔ piece-text characters, or None on a mismatch.

  Returns (orig_to_tok, tok_to_orig): lists with an index into the other
  string or None for unmatched characters. None when fewer than 80% of the
  raw characters match even with a doubled band, as the original ("MISMATCH
  DETECTED", and the example is skipped).
  """
  n, m = len(paragraph_text), len(tok_text)
  if n == 0 or m == 0:
    return None
  orig_chars = [normalize_char(c) for c in paragraph_text]
  max_dist = abs(n - m) + 5
  for _ in range(2):
    matched, back = _banded_lcs(orig_chars, tok_text, max_dist)
    if matched > 0.8 * n:
      break
    max_dist *= 2
  orig_to_tok = [None] * n
  tok_to_orig = [None] * m
  i, j = n - 1, m - 1
  while i >= 0 and j >= 0:
    step = _pointer(back, i, j)
    if step == _UNSET:
      break
    if step == 2:
      orig_to_tok[i] = j
      tok_to_orig[j] = i
      i, j = i - 1, j - 1
    elif step == 1:
      j -= 1
    else:
      i -= 1
  if all(v is None for v in orig_to_tok) or matched < 0.8 * n:
    return None
  return orig_to_tok, tok_to_orig


def convert_index(index, pos, m=None, is_start=True):
  """index[pos], or a neighbour's value when pos is unmatched (None).

  The original's _convert_index: look left and right for the nearest
  matched positions; a start moves just after the left one, an end just
  before the right one; with nothing on one side, fall back to 0 / the
  right value - 1 (no left) or left + 1 / m - 1 (no right, m given).
  """
  if index[pos] is not None:
    return index[pos]
  n = len(index)
  rear = pos
  while rear < n - 1 and index[rear] is None:
    rear += 1
  front = pos
  while front > 0 and index[front] is None:
    front -= 1
  if index[front] is None and index[rear] is None:
    raise ValueError("no aligned position at all")
  if index[front] is None:
    if index[rear] >= 1:
      return 0 if is_start else index[rear] - 1
    return index[rear]
  if index[rear] is None:
    if m is not None and index[front] < m - 1:
      return index[front] + 1 if is_start else m - 1
    return index[front]
  if index[rear] > index[front] + 1:
    return index[front] + 1 if is_start else index[rear] - 1
  return index[rear] if is_start else index[front]


def doc_spans_for(num_tokens, max_tokens_for_doc, doc_stride):
  """Windows of at most max_tokens_for_doc pieces, advancing doc_stride."""
  spans = []
  start = 0
  while start < num_tokens:
    length = min(num_tokens - start, max_tokens_for_doc)
    spans.append(DocSpan(start=start, length=length))
    if start + length == num_tokens:
      break
    start += min(length, doc_stride)
  return spans


def check_is_max_context(doc_spans, cur_span_index, position):
  """Whether window cur_span_index gives `position` its most context.

  Score = min(left, right context) + 0.01 × window length; the first window
  with the best score wins (so ties go to the earlier window).
  """
  best_score = None
  best_span_index = None
  for span_index, span in enumerate(doc_spans):
    end = span.start + span.length - 1
    if position < span.start or position > end:
      continue
    score = min(position - span.start, end - position) + 0.01 * span.length
    if best_score is None or score > best_score:
      best_score = score
      best_span_index = span_index
  return cur_span_index == best_span_index


@dataclasses.dataclass
class _Paragraph:
  """A paragraph's pieces and character maps, compact (int32 arrays).

  char_to_tok_start / char_to_tok_end: the piece an answer starting /
  ending at a raw character starts / ends in (the original's
  _convert_index over orig_to_chartok_index, then chartok_to_tok_index).
  """
  piece_ids: np.ndarray
  tok_start_to_orig_index: np.ndarray
  tok_end_to_orig_index: np.ndarray
  char_to_tok_start: np.ndarray
  char_to_tok_end: np.ndarray


def _tokenize_paragraph(paragraph_text, squad_tokenizer):
  pieces = squad_tokenizer.pieces(paragraph_text)
  chartok_to_tok_index = []
  tok_start_to_chartok_index = []
  tok_end_to_chartok_index = []
  char_count = 0
  texts = []
  for i, piece in enumerate(pieces):
    text = squad_tokenizer.piece_text(piece)
    texts.append(text)
    chartok_to_tok_index.extend([i] * len(text))
    tok_start_to_chartok_index.append(char_count)
    char_count += len(text)
    tok_end_to_chartok_index.append(char_count - 1)
  tok_cat_text = "".join(texts)
  alignment = align_characters(paragraph_text, tok_cat_text,
                               squad_tokenizer.normalize_char)
  if alignment is None:
    return None
  orig_to_chartok_index, chartok_to_orig_index = alignment
  n = len(paragraph_text)

  def int_array(values):
    return np.asarray(values, dtype=np.int32)

  return _Paragraph(
      piece_ids=int_array(squad_tokenizer.ids(pieces)),
      tok_start_to_orig_index=int_array([
          convert_index(chartok_to_orig_index, p, n, is_start=True)
          for p in tok_start_to_chartok_index]),
      tok_end_to_orig_index=int_array([
          convert_index(chartok_to_orig_index, p, n, is_start=False)
          for p in tok_end_to_chartok_index]),
      char_to_tok_start=int_array([
          chartok_to_tok_index[convert_index(orig_to_chartok_index, c,
                                             is_start=True)]
          for c in range(n)]),
      char_to_tok_end=int_array([
          chartok_to_tok_index[convert_index(orig_to_chartok_index, c,
                                             is_start=False)]
          for c in range(n)]))


def convert_examples_to_features(examples, tokenizer, max_seq_length,
                                 doc_stride, max_query_length, is_training,
                                 do_lower_case=True, output_fn=None):
  """Features for every window of every example (the original's algorithm).

  Args:
    examples: SquadExample list.
    tokenizer: a python_tokenizer.FullTokenizer (SentencePiece or WordPiece).
    max_seq_length, doc_stride, max_query_length: as the original flags.
    is_training: label windows with start/end positions and is_impossible.
    do_lower_case: lowercase before SentencePiece, as the original.
    output_fn: called with each feature; when None they are returned.

  Returns:
    The list of InputFeatures (empty when output_fn is given). Examples
    whose paragraph cannot be aligned with its pieces are skipped with a
    warning, as in the original (their questions get an empty prediction).
  """
  if max_seq_length <= max_query_length + 3:
    raise ValueError(
        f"max_seq_length ({max_seq_length}) must be greater than "
        f"max_query_length ({max_query_length}) + 3")
  if doc_stride < 1:
    raise ValueError(f"doc_stride must be positive, got {doc_stride}")
  squad_tokenizer = SquadTokenizer(tokenizer, do_lower_case)
  features = []
  emit = output_fn or features.append
  unique_id = FIRST_UNIQUE_ID
  # The original aligns a paragraph again for each of its questions; the
  # alignment is pure Python, so each distinct paragraph is done once
  # (a few KB each, also when training examples come shuffled).
  paragraphs = {}
  num_positive = num_negative = 0
  for example_index, example in enumerate(examples):
    query_ids = squad_tokenizer.ids(
        squad_tokenizer.pieces(example.question_text))[:max_query_length]
    if example.paragraph_text not in paragraphs:
      paragraphs[example.paragraph_text] = _tokenize_paragraph(
          example.paragraph_text, squad_tokenizer)
    paragraph = paragraphs[example.paragraph_text]
    if paragraph is None:
      logging.warning("question %r: its paragraph does not align with its "
                      "pieces (MISMATCH); skipped as in the original",
                      example.qas_id)
      continue

    tok_start_position = tok_end_position = None
    if is_training and example.is_impossible:
      tok_start_position = tok_end_position = 0
    elif is_training:
      start_char = example.start_position
      end_char = start_char + len(example.orig_answer_text) - 1
      tok_start_position = int(paragraph.char_to_tok_start[start_char])
      tok_end_position = int(paragraph.char_to_tok_end[end_char])
      if tok_start_position > tok_end_position:
        raise ValueError(f"question {example.qas_id!r}: answer maps to an "
                         "empty piece range")

    # [CLS] question [SEP] ... [SEP]
    max_tokens_for_doc = max_seq_length - len(query_ids) - 3
    doc_spans = doc_spans_for(len(paragraph.piece_ids), max_tokens_for_doc,
                              doc_stride)
    doc_offset = len(query_ids) + 2
    for doc_span_index, span in enumerate(doc_spans):
      input_ids = [squad_tokenizer.cls_id] + query_ids + [
          squad_tokenizer.sep_id]
      segment_ids = [0] * len(input_ids)
      p_mask = [0] + [1] * (len(query_ids) + 1)
      token_is_max_context = {}
      for i in range(span.length):
        split_index = span.start + i
        token_is_max_context[len(input_ids)] = check_is_max_context(
            doc_spans, doc_span_index, split_index)
        input_ids.append(int(paragraph.piece_ids[split_index]))
      segment_ids += [1] * (span.length + 1)
      p_mask += [0] * span.length + [1]
      input_ids.append(squad_tokenizer.sep_id)
      paragraph_len = len(input_ids)
      input_mask = [1] * len(input_ids)
      padding = max_seq_length - len(input_ids)
      input_ids += [0] * padding
      input_mask += [0] * padding
      segment_ids += [0] * padding
      p_mask += [1] * padding

      span_is_impossible = example.is_impossible
      start_position = end_position = None
      if is_training and not span_is_impossible:
        doc_end = span.start + span.length - 1
        if (tok_start_position >= span.start and
            tok_end_position <= doc_end):
          start_position = tok_start_position - span.start + doc_offset
          end_position = tok_end_position - span.start + doc_offset
        else:
          span_is_impossible = True
      if is_training and span_is_impossible:
        start_position = end_position = 0

      emit(InputFeatures(
          unique_id=unique_id,
          example_index=example_index,
          doc_span_index=doc_span_index,
          tok_start_to_orig_index=paragraph.tok_start_to_orig_index[
              span.start:span.start + span.length].tolist(),
          tok_end_to_orig_index=paragraph.tok_end_to_orig_index[
              span.start:span.start + span.length].tolist(),
          token_is_max_context=token_is_max_context,
          input_ids=input_ids,
          input_mask=input_mask,
          segment_ids=segment_ids,
          p_mask=p_mask,
          paragraph_len=paragraph_len,
          doc_offset=doc_offset,
          start_position=start_position,
          end_position=end_position,
          is_impossible=bool(span_is_impossible)))
      unique_id += 1
      if span_is_impossible:
        num_negative += 1
      else:
        num_positive += 1
  logging.info("SQuAD features: %d (answer in window %d, no answer %d)",
               num_positive + num_negative, num_positive, num_negative)
  return features


def features_to_arrays(features, is_training):
  """A dict of numpy arrays (the original's TFRecord features, int32).

  Keys: unique_ids, input_word_ids, input_mask, input_type_ids, p_mask and,
  for training, start_positions, end_positions, is_impossible.
  """
  def stack(name):
    return np.asarray([getattr(f, name) for f in features], dtype=np.int32)

  arrays = {
      "unique_ids": np.asarray([f.unique_id for f in features],
                               dtype=np.int64),
      "input_word_ids": stack("input_ids"),
      "input_mask": stack("input_mask"),
      "input_type_ids": stack("segment_ids"),
      "p_mask": stack("p_mask"),
  }
  if is_training:
    arrays["start_positions"] = stack("start_position")
    arrays["end_positions"] = stack("end_position")
    arrays["is_impossible"] = stack("is_impossible")
  return arrays
