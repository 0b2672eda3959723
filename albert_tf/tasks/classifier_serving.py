"""Label names for the classifier's TF Serving export.

TF Serving's Classify API answers with `classes` (label names, strings) and
their `scores`; the export serves the same two outputs (every label, in
label_list order, per example) beside the classifier's own `probabilities`
and `predictions` (class ids), plus `predicted_class`, the name of the
predicted label.
"""

import tensorflow as tf

CLASS_OUTPUTS = ("classes", "scores", "predicted_class")


class LabelledClassifier(tf.Module):
  """A ClassifierModel whose outputs also name the labels.

  Outputs: the classifier's, plus classes (string [B, num_labels], the label
  names), scores (float32 [B, num_labels], = probabilities) and
  predicted_class (string [B]).
  """

  def __init__(self, classifier, label_list, name=None):
    super().__init__(name=name)
    if len(label_list) != classifier.num_labels:
      raise ValueError(f"{len(label_list)} labels for a classifier of "
                       f"{classifier.num_labels}")
    self.classifier = classifier
    self.config = getattr(classifier.encoder, "config", None)
    self._labels = list(label_list)

  def __call__(self, inputs):
    outputs = dict(self.classifier(inputs, training=False))
    labels = tf.constant(self._labels)
    scores = outputs["probabilities"]
    outputs["scores"] = scores
    # A gather, not broadcast_to: TFLite's BroadcastTo has no string kernel
    # (the TFLite export serves this output too).
    outputs["classes"] = tf.gather(
        labels, tf.zeros_like(outputs["predictions"])[:, tf.newaxis]
        + tf.range(len(self._labels), dtype=outputs["predictions"].dtype))
    outputs["predicted_class"] = tf.gather(labels, outputs["predictions"])
    return outputs
