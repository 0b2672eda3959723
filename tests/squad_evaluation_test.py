"""The SQuAD EM/F1 equal the official evaluate-v1.1 / evaluate-v2.0 logic.

The reference below is written independently, step by step as the official
scripts do it; the hand-checked cases pin the numbers themselves.
"""

import collections
import random
import re
import string

import pytest

from albert_tf.tasks.squad import evaluation


# ---- independent reference, following the official scripts ----

def ref_normalize(s):
  def remove_articles(text):
    return re.sub(r"\b(a|an|the)\b", " ", text)

  def white_space_fix(text):
    return " ".join(text.split())

  def remove_punc(text):
    exclude = set(string.punctuation)
    return "".join(ch for ch in text if ch not in exclude)

  return white_space_fix(remove_articles(remove_punc(s.lower())))


def ref_f1_v1(prediction, truth):
  p = ref_normalize(prediction).split()
  g = ref_normalize(truth).split()
  same = sum((collections.Counter(p) & collections.Counter(g)).values())
  if same == 0:
    return 0
  precision, recall = same / len(p), same / len(g)
  return 2 * precision * recall / (precision + recall)


def ref_evaluate_v1(dataset, predictions):
  f1 = em = total = 0
  for article in dataset:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        total += 1
        if qa["id"] not in predictions:
          continue
        truths = [a["text"] for a in qa["answers"]]
        pred = predictions[qa["id"]]
        em += max(ref_normalize(pred) == ref_normalize(t) for t in truths)
        f1 += max(ref_f1_v1(pred, t) for t in truths)
  return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


def ref_tokens(s):
  return ref_normalize(s).split() if s else []


def ref_f1_v2(gold, pred):
  g, p = ref_tokens(gold), ref_tokens(pred)
  if not g or not p:
    return int(g == p)
  same = sum((collections.Counter(g) & collections.Counter(p)).values())
  if same == 0:
    return 0
  precision, recall = same / len(p), same / len(g)
  return 2 * precision * recall / (precision + recall)


def ref_evaluate_v2(dataset, preds, na_probs, thresh=1.0):
  has_ans = {}
  exact, f1 = {}, {}
  for article in dataset:
    for p in article["paragraphs"]:
      for qa in p["qas"]:
        has_ans[qa["id"]] = bool(qa["answers"])
        golds = [a["text"] for a in qa["answers"] if ref_normalize(a["text"])]
        golds = golds or [""]
        if qa["id"] not in preds:
          continue
        exact[qa["id"]] = max(
            int(ref_normalize(a) == ref_normalize(preds[qa["id"]]))
            for a in golds)
        f1[qa["id"]] = max(ref_f1_v2(a, preds[qa["id"]]) for a in golds)

  def threshold(scores):
    return {q: (float(not has_ans[q]) if na_probs[q] > thresh else s)
            for q, s in scores.items()}

  def best(scores):
    cur = best_score = sum(1 for q in has_ans if not has_ans[q])
    best_t = 0.0
    for q in sorted(na_probs, key=lambda k: na_probs[k]):
      if q not in scores:
        continue
      if has_ans[q]:
        cur += scores[q]
      else:
        cur += -1 if preds[q] else 0
      if cur > best_score:
        best_score, best_t = cur, na_probs[q]
    return 100.0 * best_score / len(scores), best_t

  e, f = threshold(exact), threshold(f1)
  out = {"exact": 100.0 * sum(e.values()) / len(e),
         "f1": 100.0 * sum(f.values()) / len(f), "total": len(e)}
  for name, want in (("HasAns", True), ("NoAns", False)):
    qids = [q for q in e if has_ans[q] == want]
    if qids:
      out[name + "_exact"] = 100.0 * sum(e[q] for q in qids) / len(qids)
      out[name + "_f1"] = 100.0 * sum(f[q] for q in qids) / len(qids)
      out[name + "_total"] = len(qids)
  out["best_exact"], out["best_exact_thresh"] = best(exact)
  out["best_f1"], out["best_f1_thresh"] = best(f1)
  return out


# ---- fixtures ----

def _qa(qid, answers):
  return {"id": qid, "question": "?",
          "answers": [{"text": a, "answer_start": 0} for a in answers]}


DATASET_V1 = [{"title": "t", "paragraphs": [{"context": "c", "qas": [
    _qa("q1", ["Denver Broncos", "The Denver Broncos"]),
    _qa("q2", ["Santa Clara, California"]),
    _qa("q3", ["gold"]),
]}]}]
PREDICTIONS_V1 = {"q1": "denver broncos.", "q2": "Santa Clara",
                  "q3": "golden anniversary"}

DATASET_V2 = [{"title": "t", "paragraphs": [{"context": "c", "qas": (
    DATASET_V1[0]["paragraphs"][0]["qas"] + [_qa("q4", []), _qa("q5", [])])}]}]
PREDICTIONS_V2 = dict(PREDICTIONS_V1, q4="", q5="something")
NA_PROBS = {"q1": 0.1, "q2": 0.5, "q3": 0.9, "q4": 0.7, "q5": 0.95}


def test_normalize_answer_by_hand():
  assert evaluation.normalize_answer("The  Quick, brown fox!") == (
      "quick brown fox")
  assert evaluation.normalize_answer("an apple a day") == "apple day"
  assert evaluation.normalize_answer("theater") == "theater"


def test_token_f1_by_hand():
  # [cat, sat] vs [cat, sat, down]: P 1, R 2/3 → 0.8.
  assert evaluation.f1_score_v1("the cat sat", "a cat sat down") == (
      pytest.approx(0.8))
  assert evaluation.f1_score_v1("", "") == 0.0      # v1.1's quirk
  assert evaluation.f1_score_v2("", "") == 1.0      # v2.0: both no-answer
  assert evaluation.f1_score_v2("x", "") == 0.0


def test_evaluate_v1_by_hand():
  result = evaluation.evaluate_v1(DATASET_V1, PREDICTIONS_V1)
  assert result["exact_match"] == pytest.approx(100.0 / 3)
  assert result["f1"] == pytest.approx(100.0 * 1.8 / 3)
  assert result == pytest.approx(ref_evaluate_v1(DATASET_V1, PREDICTIONS_V1))


def test_evaluate_v1_missing_prediction_scores_zero():
  result = evaluation.evaluate_v1(DATASET_V1, {"q1": "Denver Broncos"})
  assert result["exact_match"] == pytest.approx(100.0 / 3)


def test_duplicate_question_ids_are_not_scored():
  dataset = [{"paragraphs": [{"qas": [
      {"id": "q1", "answers": [{"text": "a"}]},
      {"id": "q1", "answers": [{"text": "b"}]}]}]}]
  for evaluate in (evaluation.evaluate_v1, evaluation.evaluate_v2):
    with pytest.raises(evaluation.SquadDataError,
                       match=r"dev\.json: question id 'q1' appears more "
                       "than once"):
      evaluate(dataset, {"q1": "a"}, source="dev.json")


def test_evaluate_v2_by_hand():
  result = evaluation.evaluate_v2(DATASET_V2, PREDICTIONS_V2, NA_PROBS)
  assert result["exact"] == pytest.approx(40.0)
  assert result["f1"] == pytest.approx(56.0)
  assert result["HasAns_exact"] == pytest.approx(100.0 / 3)
  assert result["HasAns_f1"] == pytest.approx(60.0)
  assert result["NoAns_exact"] == pytest.approx(50.0)
  # Sweeping: q1 (+1) then q2 (+0.8) raise the score from 2 no-answers.
  assert result["best_f1"] == pytest.approx(76.0)
  assert result["best_f1_thresh"] == 0.5
  assert result["best_exact"] == pytest.approx(60.0)
  assert result["best_exact_thresh"] == 0.1
  assert dict(result) == pytest.approx(
      ref_evaluate_v2(DATASET_V2, PREDICTIONS_V2, NA_PROBS))


def test_evaluate_v2_threshold_makes_null_predictions():
  # na_prob 0.95 > 0.9: q5 counts as a (correct) no-answer prediction.
  result = evaluation.evaluate_v2(DATASET_V2, PREDICTIONS_V2, NA_PROBS, 0.9)
  assert result["exact"] == pytest.approx(60.0)


def test_random_predictions_match_reference():
  rng = random.Random(7)
  words = ["the", "a", "cat", "Dog", "sat", "on", "mat.", "an", "mat", "!"]
  qas = []
  for i in range(200):
    answers = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
               for _ in range(rng.randint(0, 3))]
    qas.append(_qa(f"q{i}", answers))
  dataset = [{"paragraphs": [{"context": "c", "qas": qas}]}]
  predictions = {
      f"q{i}": " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
      for i in range(200)}
  na_probs = {f"q{i}": rng.random() for i in range(200)}
  v1_dataset = [{"paragraphs": [{"context": "c", "qas": [
      q for q in qas if q["answers"]]}]}]
  assert evaluation.evaluate_v1(v1_dataset, predictions) == pytest.approx(
      ref_evaluate_v1(v1_dataset, predictions))
  for thresh in (1.0, 0.5):
    assert dict(evaluation.evaluate_v2(
        dataset, predictions, na_probs, thresh)) == pytest.approx(
            ref_evaluate_v2(dataset, predictions, na_probs, thresh))


def test_evaluate_v2_with_threshold_picks_best_f1_threshold():
  calls = []

  def decode(threshold):
    calls.append(threshold)
    null = NA_PROBS
    preds = {q: ("" if threshold is not None and null[q] >= threshold
                 else p) for q, p in PREDICTIONS_V2.items()}
    return preds, {}, null

  result, preds, _, _ = evaluation.evaluate_v2_with_threshold(
      DATASET_V2, decode)
  assert calls == [None, 0.5]
  assert result["null_score_diff_threshold"] == 0.5
  # With threshold 0.5 q2..q5 are null: q2, q3 wrong, q4, q5 right.
  assert preds["q1"] == "denver broncos." and preds["q2"] == ""
  assert result["exact"] == pytest.approx(60.0)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
