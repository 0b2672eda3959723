"""A fine-tuned SQuAD model for serving: logits plus an answer decoded in graph.

The TF Serving export (run_squad --export_dir) packs one question and one
context into a single window, so the answer is decoded inside the graph as
the original decodes one window: for v1 the best start+end logit pair with
both ends in the context, end ≥ start and at most max_answer_length pieces;
for v2 the best valid pair of the start/end beam, and "" when cls_logits ≥
null_score_diff_threshold. The answer text is the pieces' text as the
tokenizer saw it (lowercased and accent-stripped when do_lower_case), since
raw-text character offsets do not survive in-graph preprocessing; clients
that need the original casing map answer_start/answer_end (positions in
input_word_ids) themselves.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from albert_tf.tokenization import python_tokenizer
from albert_tf.tasks.squad.model import p_mask_from_inputs

_NEG = -1e30


def piece_surfaces(tokenizer):
  """Per id, the text a piece stands for ("▁x" → " x", "##x" → "x")."""
  size = len(tokenizer.vocab)
  surfaces = []
  for i in range(size):
    piece = tokenizer.convert_ids_to_tokens([i])[0]
    if tokenizer.sp_model is not None:
      surfaces.append(piece.replace(python_tokenizer.SPIECE_UNDERLINE, " "))
    elif piece.startswith("##"):
      surfaces.append(piece[2:])
    else:
      surfaces.append(" " + piece)
  return surfaces


class SquadServingModel(tf_keras.Model):
  """Wraps a SquadModel: its outputs, input_word_ids, p_mask and the answer.

  Added outputs: answer_text (string [B]), answer_start / answer_end
  (int32 [B], positions in input_word_ids; 0 for no answer) and
  answer_score (start + end score of the chosen span).
  """

  def __init__(self, squad_model, tokenizer, max_answer_length=30,
               null_score_diff_threshold=0.0, **kwargs):
    super().__init__(**kwargs)
    self.squad_model = squad_model
    self.config = squad_model.config
    self.max_answer_length = max_answer_length
    self.null_score_diff_threshold = float(null_score_diff_threshold)
    self._surfaces = tf.constant(np.array(piece_surfaces(tokenizer),
                                          dtype=object))

  def _answer_text(self, input_word_ids, start, end):
    positions = tf.range(tf.shape(input_word_ids)[1])[None]
    inside = (positions >= start[:, None]) & (positions <= end[:, None])
    texts = tf.where(inside, tf.gather(self._surfaces, input_word_ids), "")
    return tf.strings.strip(tf.strings.reduce_join(texts, axis=-1))

  def _decode_v1(self, outputs, allowed):
    start, end = outputs["start_logits"], outputs["end_logits"]
    seq_len = tf.shape(start)[1]
    positions = tf.range(seq_len)
    length = positions[None, :] - positions[:, None] + 1          # [S,S] e-s+1
    span_ok = (length >= 1) & (length <= self.max_answer_length)
    ok = span_ok[None] & allowed[:, :, None] & allowed[:, None, :]
    scores = start[:, :, None] + end[:, None, :]
    scores = tf.where(ok, scores, _NEG)
    flat = tf.argmax(tf.reshape(scores, [tf.shape(start)[0], -1]), axis=-1,
                     output_type=tf.int32)
    best_start, best_end = flat // seq_len, flat % seq_len
    best = tf.reduce_max(tf.reshape(scores, [tf.shape(start)[0], -1]), -1)
    found = best > _NEG / 2
    return best_start, best_end, best, found

  def _decode_v2(self, outputs, allowed):
    start_index = outputs["start_top_index"]                       # [B,K]
    end_index = outputs["end_top_index"]                           # [B,K·E]
    k = tf.shape(start_index)[1]
    e = tf.shape(end_index)[1] // k
    starts = tf.repeat(start_index, e, axis=1)                     # [B,K·E]
    start_scores = tf.repeat(outputs["start_top_log_probs"], e, axis=1)
    scores = start_scores + outputs["end_top_log_probs"]
    length = end_index - starts + 1
    ok = ((length >= 1) & (length <= self.max_answer_length) &
          tf.gather(allowed, starts, batch_dims=1) &
          tf.gather(allowed, end_index, batch_dims=1))
    scores = tf.where(ok, scores, _NEG)
    pick = tf.argmax(scores, axis=-1, output_type=tf.int32)
    best_start = tf.gather(starts, pick, batch_dims=1)
    best_end = tf.gather(end_index, pick, batch_dims=1)
    best = tf.gather(scores, pick, batch_dims=1)
    found = (best > _NEG / 2) & (
        outputs["cls_logits"] < self.null_score_diff_threshold)
    return best_start, best_end, best, found

  def call(self, inputs, training=None):
    del training
    outputs = dict(self.squad_model(inputs, training=False))
    input_word_ids = inputs["input_word_ids"]
    p_mask = p_mask_from_inputs(inputs["input_type_ids"], inputs["input_mask"])
    # Context pieces only: [CLS] (p_mask 0) is the v2 null, never a span.
    positions = tf.range(tf.shape(p_mask)[1])[None]
    allowed = tf.equal(p_mask, 0) & (positions > 0)
    if self.squad_model.version_2_with_negative:
      start, end, score, found = self._decode_v2(outputs, allowed)
    else:
      start, end, score, found = self._decode_v1(outputs, allowed)
    start = tf.where(found, start, 0)
    end = tf.where(found, end, 0)
    text = self._answer_text(input_word_ids, start, end)
    outputs.update(
        input_word_ids=tf.identity(input_word_ids), p_mask=p_mask,
        answer_start=start, answer_end=end,
        answer_score=tf.where(found, score, 0.0),
        answer_text=tf.where(found, text, ""))
    return outputs
