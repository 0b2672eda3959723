"""Fine-tuning metrics, written out (no sklearn/scipy/seqeval at run time).

Each function takes plain Python/numpy sequences and returns a float (or a
dict for span scores). tests/finetuning_metrics_test.py checks them against
sklearn, scipy and seqeval on fixed predictions.
"""

import math

import numpy as np


def _as_arrays(labels, predictions):
  labels = np.asarray(labels)
  predictions = np.asarray(predictions)
  if labels.shape != predictions.shape:
    raise ValueError(f"labels {labels.shape} and predictions "
                     f"{predictions.shape} differ in shape")
  if labels.size == 0:
    raise ValueError("no examples to score")
  return labels, predictions


def accuracy(labels, predictions):
  labels, predictions = _as_arrays(labels, predictions)
  return float(np.mean(labels == predictions))


def f1(labels, predictions, positive=1):
  """Binary F1 of the `positive` class (GLUE's MRPC/QQP F1); 0 when undefined."""
  labels, predictions = _as_arrays(labels, predictions)
  true_pos = np.sum((predictions == positive) & (labels == positive))
  pred_pos = np.sum(predictions == positive)
  gold_pos = np.sum(labels == positive)
  if true_pos == 0:
    return 0.0
  precision = true_pos / pred_pos
  recall = true_pos / gold_pos
  return float(2 * precision * recall / (precision + recall))


def matthews_corrcoef(labels, predictions):
  """Multi-class MCC (Gorodkin's R_K, as sklearn); 0 when undefined."""
  labels, predictions = _as_arrays(labels, predictions)
  classes = np.union1d(labels, predictions)
  index = {c: i for i, c in enumerate(classes)}
  confusion = np.zeros((len(classes), len(classes)), dtype=np.float64)
  for gold, pred in zip(labels, predictions):
    confusion[index[gold], index[pred]] += 1
  true_count = confusion.sum(axis=1)
  pred_count = confusion.sum(axis=0)
  correct = np.trace(confusion)
  total = confusion.sum()
  cov_ytyp = correct * total - np.dot(true_count, pred_count)
  cov_ypyp = total * total - np.dot(pred_count, pred_count)
  cov_ytyt = total * total - np.dot(true_count, true_count)
  if cov_ypyp * cov_ytyt == 0:
    return 0.0
  return float(cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp))


def pearson(x, y):
  x, y = _as_arrays(x, y)
  x = x.astype(np.float64) - np.mean(x)
  y = y.astype(np.float64) - np.mean(y)
  denominator = math.sqrt(np.dot(x, x) * np.dot(y, y))
  if denominator == 0:
    return float("nan")  # A constant input has no correlation (as scipy).
  return float(np.dot(x, y) / denominator)


def average_ranks(values):
  """1-based ranks, ties sharing their mean rank (scipy's rankdata 'average')."""
  values = np.asarray(values)
  order = np.argsort(values, kind="mergesort")
  ranks = np.empty(len(values), dtype=np.float64)
  sorted_values = values[order]
  start = 0
  while start < len(values):
    end = start
    while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
      end += 1
    ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
    start = end + 1
  return ranks


def spearman(x, y):
  x, y = _as_arrays(x, y)
  return pearson(average_ranks(x), average_ranks(y))


def _split_tag(tag):
  if tag in ("O", "", None):
    return "O", ""
  if "-" in tag:
    prefix, entity_type = tag.split("-", 1)
    return prefix, entity_type
  return tag, ""


def _ends_chunk(prev_prefix, prefix, prev_type, entity_type):
  """conlleval's end-of-chunk rule, between the previous tag and this one."""
  if prev_prefix in ("E", "S"):
    return True
  if prev_prefix == "B" and prefix in ("B", "S", "O"):
    return True
  if prev_prefix == "I" and prefix in ("B", "S", "O"):
    return True
  return prev_prefix not in ("O", ".") and prev_type != entity_type


def _starts_chunk(prev_prefix, prefix, prev_type, entity_type):
  """conlleval's start-of-chunk rule."""
  if prefix in ("B", "S"):
    return True
  if prev_prefix in ("E", "S", "O") and prefix in ("I", "E"):
    return True
  return prefix not in ("O", ".") and prev_type != entity_type


def get_entities(tags):
  """Chunks (type, first, last) of one tag sequence, conlleval/seqeval style.

  Lenient like seqeval's default mode: an I- tag after O or after another
  type starts a new chunk.
  """
  chunks = []
  prev_prefix, prev_type = "O", ""
  begin = None
  for i, tag in enumerate(list(tags) + ["O"]):
    prefix, entity_type = _split_tag(tag)
    if begin is not None and _ends_chunk(prev_prefix, prefix, prev_type,
                                         entity_type):
      chunks.append((prev_type, begin, i - 1))
      begin = None
    if _starts_chunk(prev_prefix, prefix, prev_type, entity_type):
      begin = i
    prev_prefix, prev_type = prefix, entity_type
  return chunks


def span_scores(gold_sequences, predicted_sequences):
  """Micro precision/recall/F1 over exact chunk matches (seqeval's default).

  Both arguments are lists of tag sequences (one list of tags per sentence).
  """
  if len(gold_sequences) != len(predicted_sequences):
    raise ValueError(f"{len(gold_sequences)} gold sequences but "
                     f"{len(predicted_sequences)} predicted")
  gold, predicted = set(), set()
  for n, (g, p) in enumerate(zip(gold_sequences, predicted_sequences)):
    if len(g) != len(p):
      raise ValueError(f"sequence {n}: {len(g)} gold tags but {len(p)} "
                       "predicted")
    gold.update((n,) + chunk for chunk in get_entities(g))
    predicted.update((n,) + chunk for chunk in get_entities(p))
  correct = len(gold & predicted)
  precision = correct / len(predicted) if predicted else 0.0
  recall = correct / len(gold) if gold else 0.0
  score = (2 * precision * recall / (precision + recall)
           if precision + recall else 0.0)
  return {"precision": precision, "recall": recall, "f1": score,
          "num_gold": len(gold), "num_predicted": len(predicted)}


def span_f1(gold_sequences, predicted_sequences):
  return span_scores(gold_sequences, predicted_sequences)["f1"]
