"""benchmarks.finetuning_stability: its data and its summary (the scores
themselves are measured by running it, not tested)."""

import csv

import pytest

from albert_tf import quickstart_reviews as reviews
from benchmarks import finetuning_stability as stability


def _rows(path):
  with open(path, encoding="utf-8") as f:
    return list(csv.DictReader(f))


def test_heldout_tagging_dev_names_only_dishes_absent_from_training(
    tmp_path):
  stability.heldout_tagging_data(str(tmp_path))
  train = _rows(tmp_path / "train.csv")
  dev = _rows(tmp_path / "dev.csv")
  assert (len(train), len(dev)) == (400, 100)
  train_dishes = {d for row in train for d in row["dish_name"].split(";")
                  if d}
  dev_dishes = {d for row in dev for d in row["dish_name"].split(";") if d}
  assert dev_dishes and dev_dishes <= set(reviews.HELD_OUT_DISHES)
  assert not train_dishes & dev_dishes


def test_sentiment_dev_uses_other_templates_and_dishes(tmp_path):
  stability.sentiment_data(str(tmp_path))
  train = _rows(tmp_path / "train.csv")
  dev = _rows(tmp_path / "dev.csv")
  assert {row["label"] for row in train} == {"positive", "negative"}
  assert {row["label"] for row in dev} == {"positive", "negative"}
  assert not any(dish in row["text"] for row in dev
                 for dish in reviews.TRAIN_DISHES)
  # Every review carries exactly one sentiment word of its label.
  for row in train + dev:
    words = (stability.POSITIVE if row["label"] == "positive"
             else stability.NEGATIVE)
    assert sum(word in row["text"] for word in words) == 1, row


def test_summary_reports_mean_worst_best_and_spread():
  row = stability.summary([0.5, 0.7, 0.9])
  assert row["mean"] == pytest.approx(0.7)
  assert (row["worst"], row["best"]) == (0.5, 0.9)
  assert row["std"] == pytest.approx((0.08 / 3) ** 0.5)
