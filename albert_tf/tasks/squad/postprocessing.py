"""From per-window model outputs to answer texts, as the original decodes.

v1 (RawResult: start/end logits over the window): for every window the
n_best_size best starts × n_best_size best ends form candidates; a
candidate is kept when both ends lie in the window's paragraph, the start
piece has its max context in this window, end ≥ start and the span is at
most max_answer_length pieces. Candidates of all windows are ranked by
start + end score, the answer text is cut from the raw paragraph at the
pieces' character ranges, and duplicate texts are dropped: the first
n_best_size distinct texts form the n-best list.

v2 (RawResultV2: start_n_top starts, end_n_top ends per start, from the
beam-decoding head, plus cls_logits): the same filtering over the beam
pairs. The null score of an example is its smallest cls_logits over
windows; an example is answered "" when that score is at least
null_score_diff_threshold (null_odds.json records the scores).

Writing goes through write_prediction_files, which replaces the JSON files
atomically.
"""

import collections
import json
import math
import os

from albert_tf.files.atomic_write import write_text_atomically

RawResult = collections.namedtuple(
    "RawResult", ["unique_id", "start_log_prob", "end_log_prob"])

RawResultV2 = collections.namedtuple(
    "RawResultV2",
    ["unique_id", "start_top_log_probs", "start_top_index",
     "end_top_log_probs", "end_top_index", "cls_logits"])

_Prelim = collections.namedtuple(
    "_Prelim", ["feature_index", "start_index", "end_index",
                "start_log_prob", "end_log_prob"])


def best_indexes(scores, n_best_size):
  """Indexes of the n_best_size largest scores, best first (stable)."""
  order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
  return order[:n_best_size]


def compute_softmax(scores):
  if not scores:
    return []
  top = max(scores)
  exps = [math.exp(s - top) for s in scores]
  total = sum(exps)
  return [e / total for e in exps]


def _group_features(all_features):
  by_example = collections.defaultdict(list)
  for feature in all_features:
    by_example[feature.example_index].append(feature)
  return by_example


def _valid_span(feature, start_index, end_index, max_answer_length):
  """The original's filter; returns paragraph-relative (start, end) or None."""
  start = start_index - feature.doc_offset
  end = end_index - feature.doc_offset
  if start >= len(feature.tok_start_to_orig_index) or start < 0:
    return None
  if end >= len(feature.tok_end_to_orig_index):
    return None
  if not feature.token_is_max_context.get(start_index, False):
    return None
  if end_index < start_index:
    return None
  if end_index - start_index + 1 > max_answer_length:
    return None
  return start, end


def _collect(features, unique_id_to_result, candidates_fn):
  """Prelim predictions of one example, best first.

  Like the original's result_dict, scores are collected per (window, span)
  and averaged; a span is proposed once per window, so this is its score.
  """
  prelim = []
  for feature_index, feature in enumerate(features):
    result = unique_id_to_result[feature.unique_id]
    seen = collections.OrderedDict()
    for start, end, start_score, end_score in candidates_fn(feature, result):
      seen.setdefault((start, end), []).append((start_score, end_score))
    for (start, end), scores in seen.items():
      prelim.append(_Prelim(
          feature_index, start, end,
          sum(s for s, _ in scores) / len(scores),
          sum(e for _, e in scores) / len(scores)))
  prelim.sort(key=lambda p: p.start_log_prob + p.end_log_prob, reverse=True)
  return prelim


def _nbest(example, features, prelim, n_best_size):
  """Distinct answer texts, best first, as (text, start, end) scores."""
  seen_texts = set()
  nbest = []
  for pred in prelim:
    if len(nbest) >= n_best_size:
      break
    feature = features[pred.feature_index]
    start_char = feature.tok_start_to_orig_index[pred.start_index]
    end_char = feature.tok_end_to_orig_index[pred.end_index]
    text = example.paragraph_text[start_char:end_char + 1].strip()
    if text in seen_texts:
      continue
    seen_texts.add(text)
    nbest.append((text, pred.start_log_prob, pred.end_log_prob))
  return nbest


def _nbest_json(nbest):
  probs = compute_softmax([s + e for _, s, e in nbest])
  return [collections.OrderedDict([
      ("text", text), ("probability", prob),
      ("start_log_prob", start), ("end_log_prob", end)])
          for (text, start, end), prob in zip(nbest, probs)]


def _check_unique_ids(all_examples):
  """The prediction dicts are keyed by question id: two examples with one id
  would lose a prediction. read_squad_examples refuses such files; this
  catches examples made another way."""
  ids = collections.Counter(example.qas_id for example in all_examples)
  repeated = [qid for qid, count in ids.items() if count > 1]
  if repeated:
    raise ValueError(f"question ids must be unique; repeated: {repeated[:5]}")


def decode_predictions_v1(all_examples, all_features, all_results,
                          n_best_size, max_answer_length):
  """Returns (predictions, nbest) dicts keyed by question id (v1 head)."""
  _check_unique_ids(all_examples)
  by_example = _group_features(all_features)
  unique_id_to_result = {r.unique_id: r for r in all_results}

  def candidates(feature, result):
    for start_index in best_indexes(result.start_log_prob, n_best_size):
      for end_index in best_indexes(result.end_log_prob, n_best_size):
        span = _valid_span(feature, start_index, end_index, max_answer_length)
        if span is not None:
          yield (span[0], span[1], result.start_log_prob[start_index],
                 result.end_log_prob[end_index])

  predictions = collections.OrderedDict()
  nbest_json = collections.OrderedDict()
  for example_index, example in enumerate(all_examples):
    features = by_example[example_index]
    prelim = _collect(features, unique_id_to_result, candidates)
    nbest = _nbest(example, features, prelim, n_best_size)
    if not nbest:
      # The original's placeholder when no span is valid.
      nbest = [("empty", 0.0, 0.0)]
    entries = _nbest_json(nbest)
    predictions[example.qas_id] = entries[0]["text"]
    nbest_json[example.qas_id] = entries
  return predictions, nbest_json


def decode_predictions_v2(all_examples, all_features, all_results,
                          n_best_size, max_answer_length, start_n_top,
                          end_n_top, null_score_diff_threshold=None):
  """Returns (predictions, nbest, null_odds) keyed by question id (v2 head).

  null_odds[qid] is the example's null score (min cls_logits over its
  windows). With null_score_diff_threshold None every question gets its
  best span; otherwise "" when null_odds ≥ threshold.
  """
  _check_unique_ids(all_examples)
  by_example = _group_features(all_features)
  unique_id_to_result = {r.unique_id: r for r in all_results}

  def candidates(feature, result):
    for i in range(start_n_top):
      start_index = int(result.start_top_index[i])
      for j in range(end_n_top):
        k = i * end_n_top + j
        end_index = int(result.end_top_index[k])
        span = _valid_span(feature, start_index, end_index, max_answer_length)
        if span is not None:
          yield (span[0], span[1], result.start_top_log_probs[i],
                 result.end_top_log_probs[k])

  predictions = collections.OrderedDict()
  nbest_json = collections.OrderedDict()
  null_odds = collections.OrderedDict()
  for example_index, example in enumerate(all_examples):
    features = by_example[example_index]
    prelim = _collect(features, unique_id_to_result, candidates)
    nbest = _nbest(example, features, prelim, n_best_size)
    if not nbest:
      nbest = [("", -1e6, -1e6)]
    entries = _nbest_json(nbest)
    # The original starts from 1e6 (an example without windows keeps it).
    score_null = min([1000000.0] + [
        float(unique_id_to_result[f.unique_id].cls_logits) for f in features])
    null_odds[example.qas_id] = score_null
    if (null_score_diff_threshold is None or
        score_null < null_score_diff_threshold):
      predictions[example.qas_id] = entries[0]["text"]
    else:
      predictions[example.qas_id] = ""
    nbest_json[example.qas_id] = entries
  return predictions, nbest_json, null_odds


def write_json_atomically(path, obj):
  """Writes JSON to a temporary file beside `path`, then renames it."""
  write_text_atomically(path, json.dumps(obj, indent=4) + "\n")


def write_prediction_files(output_dir, predictions, nbest, null_odds=None):
  """predictions.json, nbest_predictions.json (and null_odds.json for v2)."""
  paths = {"predictions": os.path.join(output_dir, "predictions.json"),
           "nbest": os.path.join(output_dir, "nbest_predictions.json")}
  write_json_atomically(paths["nbest"], nbest)
  if null_odds is not None:
    paths["null_odds"] = os.path.join(output_dir, "null_odds.json")
    write_json_atomically(paths["null_odds"], null_odds)
  # Last, so a predictions.json always comes with its companions.
  write_json_atomically(paths["predictions"], predictions)
  return paths
