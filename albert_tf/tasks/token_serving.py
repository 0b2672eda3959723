"""Entities in the user's words, in the graph, for the tagger's TF Serving export.

The in-graph twin of the Python path that writes test_spans.tsv
(token_data.split_words, word_pieces, encode, word_tags, then
metrics.get_entities and Sentence.span_text):

- the text is split into words exactly like token_data.split_words (runs of
  Python's `\\w`, or single characters that are neither `\\w` nor `\\s`; the
  RE2 classes are enumerated from Python's own `re`, so non-ASCII text splits
  the same way);
- each word is tokenized on its own, as training did;
- a text whose pieces do not fit seq_length - 2 is split between words into
  parts packed one after the other (token_data.chunk_bounds' greedy rule), so
  every word gets a tag, as in the run's own predictions;
- a word's tag is its first piece's tag (O for a word without pieces);
- entities are the lenient conlleval/seqeval chunks of metrics.get_entities
  (for BIO tags: an entity starts at B-, or at I- after O or after another
  type, and continues over I- tags of its type).

Outputs (B texts, K = max_entities):
  entities        string [B, K]: each entity's text exactly as it is in the
                  input (input[start:end]); "" pads.
  entity_types    string [B, K]: its type (DISH for B-DISH/I-DISH); "" pads.
  entity_starts   int32 [B, K]: offset of its first character in the input,
  entity_ends     int32 [B, K]: offset one past its last character (exclusive
                  end), both in Unicode code points (Python str indices, not
                  UTF-8 bytes); -1 pads.
  entity_scores   float32 [B, K]: the mean, over the entity's words, of the
                  probability of each word's predicted tag (at its first
                  piece); 0 pads.
  num_entities    int32 [B]: how many entities the text has; when more than
                  K, the first K in reading order are returned.
  tag_ids         int32 [B, S], probabilities float32 [B, S, L]: per word
                  piece of the text's first part, as before (names in
                  label_list.txt).
"""

import tensorflow as tf
import tensorflow_text as tf_text

from albert_tf import tokenization
from albert_tf.tasks import token_data
from albert_tf.tokenization import unicode_classes
from albert_tf.tokenization.graph_validation import checked_utf8

DEFAULT_MAX_ENTITIES = 16
ENTITY_OUTPUTS = ("entities", "entity_types", "entity_starts", "entity_ends",
                  "entity_scores", "num_entities")


def split_words(text):
  """token_data.split_words over a batch: (words [B, (W)], byte offsets of
  their starts and (exclusive) ends [B, (W)], int64)."""
  punctuation = unicode_classes.word_punctuation()
  return tf_text.regex_split_with_offsets(
      text, delim_regex_pattern=f"{unicode_classes.whitespace()}+|"
      f"{punctuation}", keep_delim_regex_pattern=punctuation)


def _code_points_before(texts, byte_offsets):
  """Number of characters of texts[i] before byte_offsets[i] (both [N])."""
  prefixes = tf.strings.substr(texts, tf.zeros_like(byte_offsets),
                               byte_offsets, unit="BYTE")
  return tf.strings.length(prefixes, unit="UTF8_CHAR")


def _segment_ids(row_lengths):
  """Row id of every flat value of rows with these lengths."""
  return tf.repeat(tf.range(tf.shape(row_lengths, out_type=tf.int64)[0]),
                   row_lengths)


class EntityExtraction:
  """The `text_tagging` argument of serving_export.export_serving_model.

  Called as extract(tokenizer, run, text [B], seq_length), where run(inputs)
  is the task model ({"tag_ids": [N, S], "probabilities": [N, S, L]} of
  packed inputs [N, S]); returns the outputs listed in the module docstring.
  """

  def __init__(self, label_list, max_entities=DEFAULT_MAX_ENTITIES):
    label_list = list(label_list)
    if max_entities < 1:
      raise ValueError(f"max_entities must be positive, got {max_entities}")
    if token_data.OUTSIDE not in label_list:
      raise ValueError(f"the label list {label_list} has no "
                       f"{token_data.OUTSIDE} tag")
    self.label_list = label_list
    self.max_entities = max_entities
    self.outside_id = label_list.index(token_data.OUTSIDE)
    types = sorted({t[2:] for t in label_list if t != token_data.OUTSIDE})
    self._type_names = types
    # Per tag id: its entity type's index (-1 for O) and whether it is B-.
    self._tag_type = [types.index(t[2:]) if t != token_data.OUTSIDE else -1
                      for t in label_list]
    self._tag_begins = [t.startswith("B-") for t in label_list]

  def __call__(self, tokenizer, run, text, seq_length):
    text = checked_utf8(text)
    budget = seq_length - 2
    words, byte_starts, byte_ends = split_words(text)
    num_words = words.row_lengths()                                # [B]
    word_row = _segment_ids(num_words)                             # [N]
    first_word = tf.gather(words.row_starts(), word_row)
    is_first = tf.range(tf.size(word_row, out_type=tf.int64)) == first_word
    pieces = tokenizer.tokenize(words.flat_values)[:, :budget]     # [N, (P)]
    sizes = pieces.row_lengths()

    starts_part = self._part_starts(sizes, is_first, word_row,
                                    tf.size(num_words), budget)
    # Parts per text (an empty text is packed as one empty part).
    parts_per_text = tf.maximum(tf.math.unsorted_segment_sum(
        tf.cast(starts_part, tf.int64), word_row, tf.size(num_words)), 1)
    first_part = tf.cumsum(parts_per_text, exclusive=True)         # [B]
    num_parts = tf.reduce_sum(parts_per_text)
    parts_seen = tf.cumsum(tf.cast(starts_part, tf.int64))
    parts_before_text = tf.cumsum(tf.math.unsorted_segment_sum(
        tf.cast(starts_part, tf.int64), word_row, tf.size(num_words)),
                                  exclusive=True)
    word_part = (tf.gather(first_part, word_row) + parts_seen
                 - tf.gather(parts_before_text, word_row) - 1)     # [N]
    # Position of each word's first piece in its part ([CLS] is 0).
    pieces_before = tf.cumsum(sizes, exclusive=True)
    part_start = tf.math.unsorted_segment_min(pieces_before, word_part,
                                              num_parts)
    position = pieces_before - tf.gather(part_start, word_part) + 1

    part_ids = tf.RaggedTensor.from_value_rowids(
        pieces, word_part, nrows=num_parts).merge_dims(1, 2)       # [P, (T)]
    ids = tokenizer.special_ids
    packer = tokenization.InputPacker(seq_length, cls_id=ids["cls_id"],
                                      sep_id=ids["sep_id"],
                                      pad_id=ids["pad_id"])
    outputs = run(packer([part_ids]))
    tag_ids, probabilities = outputs["tag_ids"], outputs["probabilities"]

    # A word's tag: its first piece's (O without pieces), with its
    # probability.
    has_pieces = sizes > 0
    at = tf.stack([word_part, tf.where(has_pieces, position, 0)], -1)
    word_tags = tf.where(has_pieces, tf.cast(tf.gather_nd(tag_ids, at),
                                             tf.int64),
                         self.outside_id)
    word_scores = tf.gather_nd(probabilities,
                               tf.concat([at, word_tags[:, None]], -1))
    word_scores = tf.where(has_pieces, word_scores, 1.0)
    entities = self._entities(text, word_row, is_first, word_tags,
                              word_scores, byte_starts.flat_values,
                              byte_ends.flat_values, tf.size(num_words))
    # The old outputs, per word piece of each text's first part.
    entities["tag_ids"] = tf.gather(tag_ids, first_part)
    entities["probabilities"] = tf.gather(probabilities, first_part)
    return entities

  @staticmethod
  def _part_starts(sizes, is_first, word_row, batch_size, budget):
    """Whether each word starts a part: token_data.chunk_bounds' rule.

    A part ends before the first word that would overflow it (unless that
    word is the part's first). The rule is greedy: each loop step finds the
    next part of every text at once, over all words (a text needs as many
    steps as it has parts, most texts one).
    """
    num_words = tf.size(sizes, out_type=tf.int64)
    index = tf.range(num_words)
    pieces_before = tf.cumsum(sizes, exclusive=True)
    # With the total appended, so that an index one past the words is valid.
    pieces_before_ext = tf.concat([pieces_before, [tf.reduce_sum(sizes)]], 0)
    pieces_through = pieces_before + sizes
    text_starts = tf.math.unsorted_segment_min(index, word_row, batch_size)
    text_limits = tf.math.unsorted_segment_max(index, word_row, batch_size) + 1
    has_words = tf.math.unsorted_segment_sum(tf.ones_like(index), word_row,
                                             batch_size) > 0
    # Texts without words: nothing to split (start == limit).
    text_starts = tf.where(has_words, text_starts, 0)
    text_limits = tf.where(has_words, text_limits, 0)

    def step(start, starts_part):
      active = start < text_limits
      part_start = tf.gather(start, word_row)                   # per word
      used = pieces_through - tf.gather(pieces_before_ext, part_start)
      overflows = (index > part_start) & (used > budget)
      first_overflow = tf.math.unsorted_segment_min(
          tf.where(overflows, index, num_words), word_row, batch_size)
      starts_part = tf.tensor_scatter_nd_update(
          starts_part, tf.boolean_mask(start, active)[:, None],
          tf.ones_like(tf.boolean_mask(start, active), tf.bool))
      end = tf.minimum(first_overflow, text_limits)
      return tf.where(active, end, start), starts_part

    _, starts_part = tf.while_loop(
        lambda start, _: tf.reduce_any(start < text_limits), step,
        (text_starts, tf.zeros_like(is_first)))
    return starts_part

  def _entities(self, text, word_row, is_first, word_tags, word_scores,
                byte_starts, byte_ends, batch_size):
    """metrics.get_entities over the words' tags, then the padded outputs."""
    tag_type = tf.gather(tf.constant(self._tag_type, tf.int64), word_tags)
    begins = tf.gather(tf.constant(self._tag_begins), word_tags)
    previous_type = tf.where(is_first, tf.constant(-1, tf.int64),
                             tf.concat([tf.constant([-1], tf.int64), tag_type[:-1]], 0))
    in_entity = tag_type >= 0
    starts = in_entity & (begins | (previous_type != tag_type))
    entity = tf.cumsum(tf.cast(starts, tf.int64)) - 1              # per word
    num_entities = tf.reduce_sum(tf.cast(starts, tf.int64))
    entity_words = tf.where(in_entity)[:, 0]
    member_of = tf.gather(entity, entity_words)
    first = tf.boolean_mask(tf.range(tf.size(word_tags, out_type=tf.int64)),
                            starts)
    last = tf.math.unsorted_segment_max(entity_words, member_of,
                                        num_entities)
    score = tf.math.unsorted_segment_mean(
        tf.gather(word_scores, entity_words), member_of, num_entities)
    row = tf.gather(word_row, first)
    row_text = tf.gather(text, row)
    start_byte = tf.gather(byte_starts, first)
    end_byte = tf.gather(byte_ends, last)
    columns = {
        "entities": (tf.strings.substr(row_text, start_byte,
                                       end_byte - start_byte, unit="BYTE"),
                     ""),
        "entity_types": (tf.gather(tf.constant(self._type_names or [""]),
                                   tf.gather(tag_type, first)), ""),
        "entity_starts": (tf.cast(_code_points_before(row_text, start_byte),
                                  tf.int32), -1),
        "entity_ends": (tf.cast(_code_points_before(row_text, end_byte),
                                tf.int32), -1),
        "entity_scores": (tf.cast(score, tf.float32), 0.0),
    }
    per_text = tf.math.bincount(tf.cast(row, tf.int32),
                                minlength=tf.cast(batch_size, tf.int32),
                                maxlength=tf.cast(batch_size, tf.int32),
                                dtype=tf.int64)
    outputs = {"num_entities": tf.cast(per_text, tf.int32)}
    for name, (values, padding) in columns.items():
      ragged = tf.RaggedTensor.from_row_lengths(values, per_text)
      outputs[name] = ragged[:, :self.max_entities].to_tensor(
          default_value=padding, shape=[None, self.max_entities])
    return outputs
