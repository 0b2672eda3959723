"""Fine-tuning metrics equal sklearn / scipy / seqeval on fixed predictions."""

import numpy as np
import pytest
from scipy import stats
from seqeval import metrics as seqeval_metrics
from sklearn import metrics as sk_metrics

from albert_tf.tasks import metrics


def _labels(seed, classes, n=200):
  rng = np.random.RandomState(seed)
  gold = rng.randint(0, classes, size=n)
  # Correlated predictions: right 60% of the time, random otherwise.
  pred = np.where(rng.rand(n) < 0.6, gold, rng.randint(0, classes, size=n))
  return gold, pred


@pytest.mark.parametrize("seed, classes", [(0, 2), (1, 2), (2, 3), (3, 5)])
def test_accuracy_f1_mcc_match_sklearn(seed, classes):
  gold, pred = _labels(seed, classes)
  assert metrics.accuracy(gold, pred) == pytest.approx(
      sk_metrics.accuracy_score(gold, pred), abs=1e-12)
  assert metrics.matthews_corrcoef(gold, pred) == pytest.approx(
      sk_metrics.matthews_corrcoef(gold, pred), abs=1e-12)
  if classes == 2:
    assert metrics.f1(gold, pred) == pytest.approx(
        sk_metrics.f1_score(gold, pred), abs=1e-12)


def test_degenerate_cases_match_sklearn():
  gold = np.array([1, 1, 1, 1])
  pred = np.array([1, 1, 1, 1])
  assert metrics.matthews_corrcoef(gold, pred) == sk_metrics.matthews_corrcoef(
      gold, pred) == 0.0
  assert metrics.f1([0, 0, 1], [0, 0, 0]) == sk_metrics.f1_score(
      [0, 0, 1], [0, 0, 0], zero_division=0) == 0.0


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
def test_pearson_spearman_match_scipy(seed, ties):
  rng = np.random.RandomState(seed)
  x = rng.rand(150) * 5
  if ties:
    x = np.round(x)  # STS-B gold scores repeat.
  y = x + rng.randn(150)
  assert metrics.pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0],
                                                abs=1e-10)
  assert metrics.spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0],
                                                 abs=1e-10)


def _random_tags(rng, length, types=("PER", "LOC", "DISH")):
  tags = []
  for _ in range(length):
    r = rng.rand()
    if r < 0.5:
      tags.append("O")
    else:  # Includes ill-formed I- after O and type changes on purpose.
      tags.append(("B-" if r < 0.75 else "I-") + types[rng.randint(3)])
  return tags


@pytest.mark.parametrize("seed", range(5))
def test_span_f1_matches_seqeval(seed):
  rng = np.random.RandomState(seed)
  gold = [_random_tags(rng, rng.randint(1, 12)) for _ in range(60)]
  pred = [[t if rng.rand() < 0.7 else _random_tags(rng, 1)[0] for t in g]
          for g in gold]
  scores = metrics.span_scores(gold, pred)
  assert scores["f1"] == pytest.approx(seqeval_metrics.f1_score(gold, pred),
                                       abs=1e-12)
  assert scores["precision"] == pytest.approx(
      seqeval_metrics.precision_score(gold, pred), abs=1e-12)
  assert scores["recall"] == pytest.approx(
      seqeval_metrics.recall_score(gold, pred), abs=1e-12)


def test_entities_are_lenient_like_conlleval():
  from seqeval.metrics.sequence_labeling import get_entities  # pylint: disable=g-import-not-at-top
  tags = ["I-PER", "I-PER", "O", "B-LOC", "I-PER", "B-DISH", "I-DISH", "O",
          "I-LOC"]
  assert metrics.get_entities(tags) == get_entities(tags) == [
      ("PER", 0, 1), ("LOC", 3, 3), ("PER", 4, 4), ("DISH", 5, 6),
      ("LOC", 8, 8)]


def test_mismatched_lengths_are_errors():
  with pytest.raises(ValueError, match="shape"):
    metrics.accuracy([1, 0], [1])
  with pytest.raises(ValueError, match="sequence 0"):
    metrics.span_scores([["O", "B-X"]], [["O"]])


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
