"""RACE inputs packed in the graph, for the TF Serving export of run_race.

The in-graph twin of race_data.encode: for every option the second segment
is the question with "_" replaced by the option (else question + " " +
option), tokenized, cut to its last max_qa_length pieces (the option is at
the end), then the pair is truncated longest-first to max_seq_length and
packed [CLS] article [SEP] qa [SEP]. Used through
tfhub_export.serving_export.export_serving_model(multiple_choice=...).
"""

import tensorflow as tf

from albert_tf import tokenization


def questions_with_options(question, options):
  """race_data.question_with_option over string tensors.

  question: [N]; options: [N, C] → [N, C] second-segment texts.
  """
  question = tf.reshape(
      tf.broadcast_to(question[:, tf.newaxis], tf.shape(options)), [-1])
  option = tf.reshape(options, [-1])
  # str.replace("_", option) with a per-row option (RegexReplace takes one
  # rewrite for all rows): the parts between blanks, each followed by the
  # option but the last.
  parts = tf.strings.split(question, sep="_")                  # [N·C, (P)]
  lengths = parts.row_lengths()
  last = tf.ragged.range(lengths) == tf.expand_dims(lengths - 1, -1)
  suffix = tf.where(last.flat_values, "", tf.repeat(option, lengths))
  filled = tf.strings.reduce_join(
      parts.with_flat_values(tf.strings.join([parts.flat_values, suffix])),
      axis=-1)
  # Python's `"_" in question`. (?s): a question may span lines.
  has_blank = tf.strings.regex_full_match(question, "(?s).*_.*")
  appended = tf.strings.join([question, option], separator=" ")
  return tf.reshape(tf.where(has_blank, filled, appended), tf.shape(options))


def _keep_last(segment, max_length):
  """Each row's last max_length ids (Python's ids[-max_length:])."""
  lengths = segment.row_lengths()
  positions = tf.ragged.range(lengths)
  first_kept = tf.maximum(lengths - max_length, 0)
  return tf.ragged.boolean_mask(
      segment, positions >= tf.expand_dims(first_kept, -1))


def _keep_first(segment, lengths):
  positions = tf.ragged.range(segment.row_lengths())
  return tf.ragged.boolean_mask(
      segment, positions < tf.expand_dims(lengths, -1))


class RacePacking:
  """The `multiple_choice` argument of serving_export.export_serving_model.

  Called as pack(tokenizer, article [B], question [B], options [B, C],
  seq_length) → input_word_ids / input_mask / input_type_ids, int32
  [B, C, seq_length], equal to race_data.encode's for the same strings.
  """

  def __init__(self, num_choices, max_qa_length):
    if num_choices < 1 or max_qa_length < 1:
      raise ValueError(f"num_choices ({num_choices}) and max_qa_length "
                       f"({max_qa_length}) must be positive")
    self.num_choices = num_choices
    self.max_qa_length = max_qa_length

  def __call__(self, tokenizer, article, question, options, seq_length):
    batch_size = tf.shape(options)[0]
    num_choices = tf.shape(options)[1]
    article_ids = tokenizer.tokenize(article)                    # [B, (T)]
    # One row per (question, option): row b * C + c.
    rows = tf.repeat(tf.range(batch_size), num_choices)
    context = tf.gather(article_ids, rows)
    qa = tokenizer.tokenize(tf.reshape(
        questions_with_options(question, options), [-1]))
    qa = _keep_last(qa, self.max_qa_length)
    # Truncated here (not only in the packer) to see which qa segments end
    # up empty: Packer.pack_ids packs those as one segment, [CLS] a [SEP].
    length_a, length_b = tokenization.longest_first_lengths(
        context.row_lengths(), qa.row_lengths(), seq_length - 3)
    context, qa = _keep_first(context, length_a), _keep_first(qa, length_b)
    ids = tokenizer.special_ids
    packer = tokenization.InputPacker(seq_length, cls_id=ids["cls_id"],
                              sep_id=ids["sep_id"], pad_id=ids["pad_id"])
    pair, single = packer([context, qa]), packer([context])
    has_qa = tf.expand_dims(length_b > 0, -1)
    return {key: tf.reshape(tf.where(has_qa, pair[key], single[key]),
                            [batch_size, num_choices, seq_length])
            for key in pair}
