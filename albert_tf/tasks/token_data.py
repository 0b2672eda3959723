"""Token classification data: CoNLL files and "text,entity" CSV files.

CoNLL (train.txt, dev.txt, test.txt; also .conll): one token per line,
`token [other columns] tag` separated by whitespace, a blank line between
sentences, `-DOCSTART-` lines ignored. Test files may leave the tag out.

Entity CSV (train.csv, dev.csv, test.csv): a header naming `text` and
`entity` (optional in test files; --text_column and --entity_column name
other columns, e.g. `review` and `dish_name`). The entity is a substring of the text
(several separated by ";"); every whole-word occurrence (else the first
occurrence) is tagged B-<type>/I-<type> on the words it covers, with the
type from --entity_type. Words are runs of letters/digits or single
punctuation marks, so "the pad thai, please" gives the words "pad" and
"thai" for the entity "pad thai".

BIO labels are aligned to word pieces: a word's tag goes on its first piece;
its other pieces, [CLS], [SEP] and padding are ignored by the loss and the
metric (which is computed on words).
"""

import dataclasses
import os
import re

import numpy as np

from albert_tf.tokenization.python_input_packer import text_to_ids
from albert_tf.tasks.input_files import InputFormatError
from albert_tf.tasks.input_files import read_csv
from albert_tf.tasks.input_files import require_file

OUTSIDE = "O"
IGNORE_ID = -1
_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclasses.dataclass
class Sentence:
  words: list
  tags: object = None  # list of str, or None when unlabelled.
  source: str = ""  # "path:line" of its first token / row.
  text: object = None  # CSV: the original text (spans are cut from it).
  offsets: object = None  # CSV: (start, end) character offsets per word.

  def span_text(self, first, last):
    if self.text is not None:
      return self.text[self.offsets[first][0]:self.offsets[last][1]]
    return " ".join(self.words[first:last + 1])


def find_data_file(data_dir, split):
  """data_dir/<split>.{txt,conll,csv}: whichever exists (one only)."""
  found = [os.path.join(data_dir, f"{split}.{ext}")
           for ext in ("txt", "conll", "csv")
           if os.path.exists(os.path.join(data_dir, f"{split}.{ext}"))]
  if not found:
    raise InputFormatError(os.path.join(data_dir, f"{split}.txt"),
                           f"{split} file not found (expected {split}.txt, "
                           f"{split}.conll or {split}.csv)")
  if len(found) > 1:
    raise InputFormatError(found[0], f"ambiguous {split} files: "
                           f"{', '.join(found)}")
  return found[0]


def read_sentences(path, require_tags, entity_type="ENT",
                   text_column="text", entity_column="entity"):
  if path.endswith(".csv"):
    return read_entity_csv(path, require_tags, entity_type, text_column,
                           entity_column)
  return read_conll(path, require_tags)


def _check_tag(path, line, tag):
  if tag != OUTSIDE and not re.fullmatch(r"[BI]-\S+", tag):
    raise InputFormatError(path, f"tag {tag!r} is not O, B-<type> or "
                           "I-<type>", line=line)


def read_conll(path, require_tags):
  require_file(path)
  sentences, words, tags, start = [], [], [], None
  labelled = None

  def flush():
    if words:
      sentences.append(Sentence(list(words), list(tags) if labelled else None,
                                f"{path}:{start}"))
    words.clear()
    tags.clear()
  try:
    with open(path, encoding="utf-8") as f:
      for number, raw in enumerate(f, 1):
        fields = raw.split()
        if not fields:
          flush()
          continue
        if fields[0] == "-DOCSTART-":
          flush()
          continue
        has_tag = len(fields) >= 2
        if labelled is None:
          labelled = has_tag
        if has_tag != labelled or (require_tags and not has_tag):
          raise InputFormatError(
              path, f"expected `token [other columns] tag`, got {raw!r}"
              if require_tags or labelled else
              f"expected one token per line like the lines before, got "
              f"{raw!r}", line=number)
        if not words:
          start = number
        words.append(fields[0])
        if has_tag:
          _check_tag(path, number, fields[-1])
          tags.append(fields[-1])
  except UnicodeDecodeError as e:
    raise InputFormatError(path, f"not UTF-8 text ({e})") from None
  flush()
  if not sentences:
    raise InputFormatError(path, "no sentences (only blank or -DOCSTART- "
                           "lines)")
  return sentences


def split_words(text):
  """Words and their (start, end) character offsets."""
  matches = list(_WORD_RE.finditer(text))
  return [m.group() for m in matches], [m.span() for m in matches]


def _entity_spans(text, entity, offsets):
  """Character spans of `entity` in `text`: whole-word occurrences if any."""
  starts = {s for s, _ in offsets}
  ends = {e for _, e in offsets}
  found = []
  for haystack, needle in ((text, entity), (text.lower(), entity.lower())):
    position = haystack.find(needle)
    while position >= 0:
      found.append((position, position + len(needle)))
      position = haystack.find(needle, position + len(needle))
    if found:
      break
  aligned = [(s, e) for s, e in found if s in starts and e in ends]
  return aligned or found[:1]


def entity_tags(text, entities, entity_type, path=None, line=None):
  """(words, offsets, BIO tags) for a text and its entity strings."""
  words, offsets = split_words(text)
  tags = [OUTSIDE] * len(words)
  for entity in entities:
    spans = _entity_spans(text, entity, offsets)
    if not spans:
      raise InputFormatError(path, f"entity {entity!r} not found in the "
                             f"text {text!r}", line=line)
    for start, end in spans:
      covered = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
      for n, i in enumerate(covered):
        tags[i] = f"{'B' if n == 0 else 'I'}-{entity_type}"
  return words, offsets, tags


def read_entity_csv(path, require_tags, entity_type, text_column="text",
                    entity_column="entity"):
  """Sentences of a CSV whose header names the text and entity columns."""
  rows = read_csv(path)
  header_line, header = rows[0]
  names = [h.strip().lower() for h in header]
  text_name, entity_name = text_column.lower(), entity_column.lower()
  if text_name not in names:
    raise InputFormatError(
        path, f"the header must name a `{text_name}` column (and "
        f"`{entity_name}`), got {header!r}; pass --text_column to name "
        "another column", line=header_line)
  if entity_name not in names and require_tags:
    raise InputFormatError(
        path, f"the header must name an `{entity_name}` column, got "
        f"{header!r}; pass --entity_column to name another column",
        line=header_line)
  if len(rows) < 2:
    raise InputFormatError(path, "file has a header but no examples")
  text_column = names.index(text_name)
  entity_column = (names.index(entity_name) if entity_name in names
                   else None)
  sentences = []
  for line, row in rows[1:]:
    if len(row) != len(header):
      raise InputFormatError(path, f"expected {len(header)} fields like the "
                             f"header, got {len(row)}: {row!r}", line=line)
    text = row[text_column]
    if not text.strip():
      raise InputFormatError(
          path, f"the `{header[text_column].strip()}` column is empty; "
          "every row needs a sentence to tag", line=line)
    if entity_column is None:
      words, offsets = split_words(text)
      tags = None
    else:
      entities = [e.strip() for e in row[entity_column].split(";")
                  if e.strip()]
      words, offsets, tags = entity_tags(text, entities, entity_type, path,
                                         line)
    sentences.append(Sentence(words, tags, f"{path}:{line}", text, offsets))
  return sentences


def label_list_from(sentences):
  """O first, then every B-/I- tag of the types seen, sorted."""
  types = sorted({t[2:] for s in sentences for t in s.tags if t != OUTSIDE})
  return [OUTSIDE] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def word_pieces(tokenizer, words):
  """Token ids of each word (possibly none for words the tokenizer drops),
  preprocessed like the exports' in-graph tokenizer (lowercased for
  SentencePiece with do_lower_case)."""
  return [text_to_ids(tokenizer, word) for word in words]


def chunk_bounds(pieces, budget):
  """[(start, end)] word ranges, in order, whose pieces fit `budget` each.

  Every word is in exactly one range; a range ends before the word that
  would overflow it (a word longer than a whole range gets one to itself).
  """
  bounds, start, used = [], 0, 0
  for i, word_ids in enumerate(pieces):
    size = min(len(word_ids), budget)
    if used + size > budget and i > start:
      bounds.append((start, i))
      start, used = i, 0
    used += size
  bounds.append((start, len(pieces)))
  return bounds


def encode(sentence, pieces, packer, label_index):
  """[(features, first-piece positions)] of the sentence's chunks, in order.

  A sentence whose pieces do not fit max_seq_length - 2 is split between
  words into consecutive chunks, each packed as its own sequence, so every
  word is tagged (the original tagger would drop the words past the
  limit). Each word is in exactly one chunk, so the tags of a sentence are
  its chunks' word_tags concatenated. features: packed ids and label_ids
  (-1 where ignored); first_positions[i] is the position of the chunk's
  i-th word's first piece, None for a word with no pieces (tagged O). A
  single word longer than a chunk keeps its first pieces.
  """
  budget = packer.max_seq_length - 2
  return [_encode_words(sentence, pieces, start, end, packer, label_index)
          for start, end in chunk_bounds(pieces, budget)]


def _encode_words(sentence, pieces, start, end, packer, label_index):
  """encode() of the words start..end-1 as one sequence."""
  budget = packer.max_seq_length - 2
  ids, labels, first_positions = [], [], []
  for i in range(start, end):
    word_ids = pieces[i][:budget]
    if not word_ids:
      first_positions.append(None)
      continue
    first_positions.append(len(ids) + 1)  # +1 for [CLS].
    tag = sentence.tags[i] if sentence.tags is not None else OUTSIDE
    if tag not in label_index:
      raise InputFormatError(sentence.source, f"tag {tag!r} is not in the "
                             f"label set {', '.join(label_index)}")
    labels += [label_index[tag]] + [IGNORE_ID] * (len(word_ids) - 1)
    ids += word_ids
  feature = packer.pack_ids(ids)
  label_ids = np.full([packer.max_seq_length], IGNORE_ID, np.int32)
  label_ids[1:1 + len(labels)] = labels
  feature["label_ids"] = label_ids
  return feature, first_positions


def word_tags(tag_ids, first_positions, label_list):
  """Predicted tag per word of one chunk from its per-piece predictions (O
  for words without pieces)."""
  return [label_list[int(tag_ids[p])] if p is not None else OUTSIDE
          for p in first_positions]
