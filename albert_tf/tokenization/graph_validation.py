"""Input checks shared by the in-graph tokenizers."""

import tensorflow as tf


def checked_utf8(texts):
  """`texts` as a tf.string tensor, failing clearly on invalid UTF-8.

  The regex and normalization ops would otherwise tokenize invalid bytes
  silently; the Python path raises TokenizerError for them.
  """
  texts = tf.convert_to_tensor(texts, tf.string)
  repaired = tf.strings.unicode_transcode(
      texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
  # Assert with a fixed message only: echoing the invalid bytes would make
  # the error itself undecodable.
  check = tf.debugging.Assert(
      tf.reduce_all(tf.equal(repaired, texts)),
      ["tokenizer input is not valid UTF-8 (decode bytes as UTF-8 before "
       "tokenizing)"])
  with tf.control_dependencies([check]):
    return tf.identity(texts)
