"""The official SQuAD v1.1 and v2.0 evaluation logic (EM and token F1).

Answers are normalized (lowercase, punctuation removed, articles a/an/the
removed, whitespace collapsed); exact match and bag-of-tokens F1 are taken
as the maximum over a question's gold answers and averaged ×100.

v1.1 (evaluate-v1.1.py): questions without a prediction score 0.
v2.0 (evaluate-v2.0.py): unanswerable questions have the single gold answer
"", and F1 between an empty and a non-empty answer is 0; questions without
a prediction are left out of the totals (as the script does); with
`na_probs` a question is predicted unanswerable when its no-answer
probability exceeds `na_prob_thresh`; best_exact / best_f1 and their
thresholds come from sweeping that threshold over the na_probs values, and
HasAns_* / NoAns_* split the scores by gold answerability.

`evaluate_v2_with_threshold` is the original run_squad_v2 procedure:
predict with no threshold, pick the threshold that maximizes F1 (with the
null scores as na_probs), then predict again with it.
"""

import collections
import logging
import re
import string

from albert_tf.tasks.squad.examples import SquadDataError

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s):
  """Lower text and remove punctuation, articles and extra whitespace."""
  s = s.lower()
  s = "".join(ch for ch in s if ch not in _PUNCTUATION)
  s = _ARTICLES.sub(" ", s)
  return " ".join(s.split())


def get_tokens(s):
  return normalize_answer(s).split() if s else []


def exact_match_score(prediction, ground_truth):
  return int(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1_score_v1(prediction, ground_truth):
  """v1.1 F1: 0 when nothing is shared (also for two empty answers)."""
  prediction_tokens = normalize_answer(prediction).split()
  truth_tokens = normalize_answer(ground_truth).split()
  common = collections.Counter(prediction_tokens) & collections.Counter(
      truth_tokens)
  num_same = sum(common.values())
  if num_same == 0:
    return 0.0
  precision = num_same / len(prediction_tokens)
  recall = num_same / len(truth_tokens)
  return 2 * precision * recall / (precision + recall)


def f1_score_v2(prediction, ground_truth):
  """v2.0 F1: 1 when both are empty (no-answer agreement), else as v1.1."""
  gold_tokens = get_tokens(ground_truth)
  pred_tokens = get_tokens(prediction)
  if not gold_tokens or not pred_tokens:
    return float(gold_tokens == pred_tokens)
  common = collections.Counter(gold_tokens) & collections.Counter(pred_tokens)
  num_same = sum(common.values())
  if num_same == 0:
    return 0.0
  precision = num_same / len(pred_tokens)
  recall = num_same / len(gold_tokens)
  return 2 * precision * recall / (precision + recall)


def _questions(dataset):
  for article in dataset:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        yield qa


def check_unique_ids(dataset, source="the dataset"):
  """Raises SquadDataError naming the id (and `source`, the file) when two
  questions share an id: predictions are keyed by id, so one of them would
  go unpredicted and the score would be wrong."""
  seen = set()
  for qa in _questions(dataset):
    qid = str(qa["id"])
    if qid in seen:
      raise SquadDataError(
          f"{source}: question id {qid!r} appears more than once; question "
          "ids must be unique to score predictions")
    seen.add(qid)


def evaluate_v1(dataset, predictions, source="the dataset"):
  """{"exact_match", "f1"} of predictions (qid → text) on v1.1 "data"
  (read from `source`, named in errors)."""
  check_unique_ids(dataset, source)
  exact = f1 = total = 0
  for qa in _questions(dataset):
    total += 1
    qid = str(qa["id"])
    if qid not in predictions:
      logging.warning("Unanswered question %s will receive score 0.", qid)
      continue
    truths = [a["text"] for a in qa["answers"]]
    prediction = predictions[qid]
    exact += max(exact_match_score(prediction, t) for t in truths)
    f1 += max(f1_score_v1(prediction, t) for t in truths)
  total = max(total, 1)
  return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}


def make_qid_to_has_ans(dataset):
  return {str(qa["id"]): bool(qa["answers"]) for qa in _questions(dataset)}


def get_raw_scores(dataset, predictions):
  """Per-question EM and F1 (v2.0 rules), for questions with a prediction."""
  exact_scores = {}
  f1_scores = {}
  for qa in _questions(dataset):
    qid = str(qa["id"])
    gold = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])]
    if not gold:
      gold = [""]
    if qid not in predictions:
      logging.warning("Missing prediction for %s", qid)
      continue
    prediction = predictions[qid]
    exact_scores[qid] = max(exact_match_score(prediction, a) for a in gold)
    f1_scores[qid] = max(f1_score_v2(prediction, a) for a in gold)
  return exact_scores, f1_scores


def apply_no_ans_threshold(scores, na_probs, qid_to_has_ans, na_prob_thresh):
  return {qid: (float(not qid_to_has_ans[qid])
                if na_probs[qid] > na_prob_thresh else s)
          for qid, s in scores.items()}


def make_eval_dict(exact_scores, f1_scores, qid_list=None):
  qids = list(exact_scores) if qid_list is None else list(qid_list)
  total = len(qids)
  if not total:
    return collections.OrderedDict(
        [("exact", 0.0), ("f1", 0.0), ("total", 0)])
  return collections.OrderedDict([
      ("exact", 100.0 * sum(exact_scores[k] for k in qids) / total),
      ("f1", 100.0 * sum(f1_scores[k] for k in qids) / total),
      ("total", total)])


def find_best_thresh(predictions, scores, na_probs, qid_to_has_ans):
  """(best score ×100, threshold) sweeping na_probs in ascending order."""
  num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
  current = best = num_no_ans
  best_thresh = 0.0
  for qid in sorted(na_probs, key=lambda k: na_probs[k]):
    if qid not in scores:
      continue
    if qid_to_has_ans[qid]:
      diff = scores[qid]
    else:
      diff = -1 if predictions[qid] else 0
    current += diff
    if current > best:
      best = current
      best_thresh = na_probs[qid]
  return 100.0 * best / max(len(scores), 1), best_thresh


def evaluate_v2(dataset, predictions, na_probs=None, na_prob_thresh=1.0,
                source="the dataset"):
  """The evaluate-v2.0.py result dict (exact, f1, total, HasAns_*, NoAns_*,
  and with na_probs also best_exact(_thresh), best_f1(_thresh)); `source`
  (the dataset's file) is named in errors."""
  check_unique_ids(dataset, source)
  qid_to_has_ans = make_qid_to_has_ans(dataset)
  with_na_probs = na_probs is not None
  if na_probs is None:
    na_probs = {k: 0.0 for k in predictions}
  has_ans = [k for k, v in qid_to_has_ans.items() if v]
  no_ans = [k for k, v in qid_to_has_ans.items() if not v]
  exact_raw, f1_raw = get_raw_scores(dataset, predictions)
  exact = apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans,
                                 na_prob_thresh)
  f1 = apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans,
                              na_prob_thresh)
  result = make_eval_dict(exact, f1)
  # Like the official script this assumes every question was predicted.
  for prefix, qids in (("HasAns", has_ans), ("NoAns", no_ans)):
    qids = [k for k in qids if k in exact]
    if qids:
      for key, value in make_eval_dict(exact, f1, qids).items():
        result[f"{prefix}_{key}"] = value
  if with_na_probs:
    best_exact, exact_thresh = find_best_thresh(
        predictions, exact_raw, na_probs, qid_to_has_ans)
    best_f1, f1_thresh = find_best_thresh(
        predictions, f1_raw, na_probs, qid_to_has_ans)
    result["best_exact"] = best_exact
    result["best_exact_thresh"] = exact_thresh
    result["best_f1"] = best_f1
    result["best_f1_thresh"] = f1_thresh
  return result


def evaluate_v2_with_threshold(dataset, decode_fn, source="the dataset"):
  """The original run_squad_v2 evaluation.

  decode_fn(threshold) → (predictions, nbest, null_odds). Decodes once with
  no threshold, takes best_f1_thresh over the null scores, decodes again
  with it and scores that. Returns (result, predictions, nbest, null_odds);
  result has "null_score_diff_threshold".
  """
  predictions, _, null_odds = decode_fn(None)
  first = evaluate_v2(dataset, predictions, null_odds, source=source)
  threshold = first["best_f1_thresh"]
  predictions, nbest, null_odds = decode_fn(threshold)
  result = evaluate_v2(dataset, predictions, null_odds, source=source)
  result["null_score_diff_threshold"] = threshold
  return result, predictions, nbest, null_odds
