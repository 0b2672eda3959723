"""SQuAD reading, features (alignment, doc_stride windows) and decoding."""

import json

import numpy as np
import pytest

from albert_tf.tokenization import python_tokenizer
from albert_tf.tasks.squad import examples as squad_examples
from albert_tf.tasks.squad import window_features as squad_features
from albert_tf.tasks.squad import postprocessing
import squad_synthetic
from reference_data import SPM_MODEL
from reference_data import ZH_VOCAB


@pytest.fixture(scope="module")
def tokenizer():
  return python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)


def _write(tmp_path, text, name="data.json"):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return str(path)


def _squad(context, qas):
  return json.dumps({"version": "2.0", "data": [
      {"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]})


# ---- reading ----

def test_reads_v1_and_v2_examples(tmp_path):
  data = squad_synthetic.make_dataset(30, seed=3, version_2=True)
  path = squad_synthetic.write_squad_file(tmp_path / "v2.json", data, "2.0")
  examples = squad_examples.read_squad_examples(path, is_training=True)
  assert len(examples) == 30
  impossible = [e for e in examples if e.is_impossible]
  assert impossible and len(impossible) < 30
  for e in impossible:
    assert e.start_position == -1 and e.orig_answer_text == ""
  for e in examples:
    if not e.is_impossible:
      assert e.paragraph_text[e.start_position:].startswith(
          e.orig_answer_text)
  predict = squad_examples.read_squad_examples(path, is_training=False)
  assert all(e.start_position is None for e in predict)


def test_malformed_json_names_file_and_line(tmp_path):
  path = _write(tmp_path, '{"data": [\n  {"paragraphs": [}\n]}', "bad.json")
  with pytest.raises(squad_examples.SquadDataError, match=r"bad\.json:2:"):
    squad_examples.read_squad_examples(path, is_training=True)


def test_empty_file_is_reported(tmp_path):
  path = _write(tmp_path, "  \n", "empty.json")
  with pytest.raises(squad_examples.SquadDataError,
                     match="empty.json is empty"):
    squad_examples.read_squad_examples(path, is_training=False)


def test_missing_file_and_wrong_layout(tmp_path):
  with pytest.raises(squad_examples.SquadDataError, match="cannot read"):
    squad_examples.read_squad_examples(str(tmp_path / "none.json"), False)
  path = _write(tmp_path, "[1, 2]", "list.json")
  with pytest.raises(squad_examples.SquadDataError, match='"data" list'):
    squad_examples.read_squad_examples(path, False)
  path = _write(tmp_path, _squad("ctx", [{"id": "a", "answers": []}]),
                "noq.json")
  with pytest.raises(squad_examples.SquadDataError,
                     match=r"noq\.json: question 'a'.*\"question\""):
    squad_examples.read_squad_examples(path, False)


def test_answer_not_in_context_is_reported(tmp_path):
  path = _write(tmp_path, _squad("The cat sat on the mat.", [
      {"id": "q7", "question": "who?",
       "answers": [{"text": "dog", "answer_start": 4}]}]), "bad_answer.json")
  with pytest.raises(squad_examples.SquadDataError,
                     match=r"bad_answer\.json: question 'q7'.*'dog' not found"):
    squad_examples.read_squad_examples(path, is_training=True)
  # Prediction files are not checked against their answers.
  assert len(squad_examples.read_squad_examples(path, False)) == 1


def test_duplicate_ids_and_empty_questions_are_refused(tmp_path):
  answer = [{"text": "cat", "answer_start": 4}]
  path = _write(tmp_path, _squad("The cat sat.", [
      {"id": "q1", "question": "who sat?", "answers": answer},
      {"id": "q2", "question": "what sat?", "answers": answer},
      {"id": "q1", "question": "which animal?", "answers": answer}]),
                "dupes.json")
  for is_training in (True, False):  # Train and predict files alike.
    with pytest.raises(squad_examples.SquadDataError,
                       match=r"dupes\.json: question id 'q1' appears twice "
                       r"\(data\[0\]\.paragraphs\[0\]\.qas\[0\] and "
                       r"data\[0\]\.paragraphs\[0\]\.qas\[2\]\)"):
      squad_examples.read_squad_examples(path, is_training=is_training)
  # An integer id and its string are one id in predictions.json.
  path = _write(tmp_path, _squad("The cat sat.", [
      {"id": 7, "question": "who?", "answers": answer},
      {"id": "7", "question": "what?", "answers": answer}]), "ints.json")
  with pytest.raises(squad_examples.SquadDataError, match="id '7' appears"):
    squad_examples.read_squad_examples(path, is_training=False)
  for question in ("", "  \t "):
    path = _write(tmp_path, _squad("The cat sat.", [
        {"id": "q9", "question": question, "answers": answer}]),
                  "blank.json")
    with pytest.raises(squad_examples.SquadDataError,
                       match=r"blank\.json: question 'q9' .*: the question "
                       "is empty"):
      squad_examples.read_squad_examples(path, is_training=False)


def test_decoding_refuses_examples_with_one_id(tokenizer):
  examples = [squad_examples.SquadExample("q", "who?", "a b"),
              squad_examples.SquadExample("q", "what?", "a b")]
  with pytest.raises(ValueError, match=r"repeated: \['q'\]"):
    postprocessing.decode_predictions_v1(examples, [], [], 5, 10)


def test_wrong_answer_start_uses_nearest_occurrence(tmp_path):
  path = _write(tmp_path, _squad("a mat, a cat, a mat", [
      {"id": "q", "question": "what?",
       "answers": [{"text": "mat", "answer_start": 15}]}]))
  (example,) = squad_examples.read_squad_examples(path, is_training=True)
  assert example.start_position == 16


def test_training_needs_one_answer_and_v1_has_no_impossible(tmp_path):
  path = _write(tmp_path, _squad("x y", [
      {"id": "q", "question": "?", "answers": []}]), "zero.json")
  with pytest.raises(squad_examples.SquadDataError, match="exactly 1 answer"):
    squad_examples.read_squad_examples(path, is_training=True)
  path = _write(tmp_path, _squad("x y", [
      {"id": "q", "question": "?", "answers": [], "is_impossible": True}]))
  with pytest.raises(squad_examples.SquadDataError, match="is_impossible"):
    squad_examples.read_squad_examples(path, True,
                                       version_2_with_negative=False)


# ---- features ----

TRICKY = ("The  Café opened in 1,234 years,  and  the answer is   "
          "ZEBRA-crossing  here. Ünïcode text ﬁne!")


def test_pieces_map_back_to_raw_text(tokenizer):
  example = squad_examples.SquadExample("q", "what?", TRICKY)
  (feature,) = squad_features.convert_examples_to_features(
      [example], tokenizer, max_seq_length=64, doc_stride=16,
      max_query_length=8, is_training=False)
  spans = [TRICKY[s:e + 1] for s, e in zip(feature.tok_start_to_orig_index,
                                           feature.tok_end_to_orig_index)]
  # Concatenated, the character ranges cover the paragraph exactly once.
  assert "".join(spans) == TRICKY
  assert "Café" in "".join(spans[:5]) and "Ünïcode" in spans
  # Pieces are lowercased ("▁zebra" etc.), the text cut keeps the case.
  assert " ZEBRA-crossing" in "".join(spans)


def test_wordpiece_tokenizer_aligns_too():
  """A vocab_file (WordPiece) tokenizer: "##" pieces join the previous."""
  tokenizer = python_tokenizer.FullTokenizer(ZH_VOCAB, do_lower_case=True)
  text = "Hello  World, the unaffable café."
  answer = "unaffable"
  example = squad_examples.SquadExample("q", "what?", text, answer,
                                        text.index(answer))
  (feature,) = squad_features.convert_examples_to_features(
      [example], tokenizer, 40, 8, 8, is_training=True)
  start = feature.start_position - feature.doc_offset
  end = feature.end_position - feature.doc_offset
  assert text[feature.tok_start_to_orig_index[start]:
              feature.tok_end_to_orig_index[end] + 1].strip() == answer
  spans = [text[s:e + 1] for s, e in zip(feature.tok_start_to_orig_index,
                                         feature.tok_end_to_orig_index)]
  assert "".join(spans) == text


def test_unalignable_paragraph_is_skipped_like_the_original(caplog):
  """[UNK] pieces cannot be aligned: no features, the "empty" answer."""
  tokenizer = python_tokenizer.FullTokenizer(ZH_VOCAB, do_lower_case=True)
  examples = [squad_examples.SquadExample("a", "what?", "\u2603\u2603 \u2603"),
              squad_examples.SquadExample("b", "what?", "plain text")]
  features = squad_features.convert_examples_to_features(
      examples, tokenizer, 32, 8, 8, is_training=False)
  assert [f.example_index for f in features] == [1]
  assert "question 'a'" in caplog.text and "MISMATCH" in caplog.text
  results = [postprocessing.RawResult(f.unique_id, [0.0] * 32, [0.0] * 32)
             for f in features]
  predictions, _ = postprocessing.decode_predictions_v1(
      examples, features, results, 5, 30)
  assert predictions["a"] == "empty"


def _answer_example(answer):
  return squad_examples.SquadExample(
      "q", "what is the answer?", TRICKY, answer, TRICKY.index(answer))


@pytest.mark.parametrize("answer", ["ZEBRA-crossing", "Café", "1,234",
                                    "Ünïcode", "ﬁne"])
def test_every_window_with_the_answer_labels_it(tokenizer, answer):
  features = squad_features.convert_examples_to_features(
      [_answer_example(answer)], tokenizer, max_seq_length=24, doc_stride=4,
      max_query_length=8, is_training=True)
  assert len(features) > 3
  labelled = [f for f in features if not f.is_impossible]
  assert labelled
  for f in features:
    assert len(f.input_ids) == len(f.input_mask) == len(f.p_mask) == 24
    if f.is_impossible:
      assert f.start_position == f.end_position == 0
      continue
    start = f.start_position - f.doc_offset
    end = f.end_position - f.doc_offset
    text = TRICKY[f.tok_start_to_orig_index[start]:
                  f.tok_end_to_orig_index[end] + 1].strip()
    assert text == answer
    assert f.p_mask[f.start_position] == 0 and f.p_mask[f.end_position] == 0


def test_doc_stride_windows_cover_the_paragraph(tokenizer):
  features = squad_features.convert_examples_to_features(
      [_answer_example("Café")], tokenizer, max_seq_length=24, doc_stride=5,
      max_query_length=8, is_training=False)
  pieces = python_tokenizer.encode_pieces(
      tokenizer.sp_model, python_tokenizer.preprocess_text(TRICKY, lower=True))
  # Every piece is in some window and has max context in exactly one.
  max_context_count = np.zeros(len(pieces), int)
  covered = np.zeros(len(pieces), int)
  spans = squad_features.doc_spans_for(len(pieces), 24 - 8 - 3, 5)
  assert len(spans) == len(features)
  for f, span in zip(features, spans):
    assert f.doc_offset == 8 + 2
    assert span.start % 5 == 0
    for position, is_max in f.token_is_max_context.items():
      index = span.start + position - f.doc_offset
      covered[index] += 1
      max_context_count[index] += is_max
    assert f.p_mask[0] == 0 and all(f.p_mask[1:f.doc_offset])
    assert f.input_mask[f.paragraph_len - 1] == 1
    assert f.p_mask[f.paragraph_len - 1] == 1    # the closing [SEP]
  assert covered.min() >= 1
  assert (max_context_count == 1).all()


def test_long_question_is_truncated_and_query_limit_checked(tokenizer):
  example = squad_examples.SquadExample("q", "word " * 50, "a b c")
  (feature,) = squad_features.convert_examples_to_features(
      [example], tokenizer, 32, 8, 10, is_training=False)
  assert feature.doc_offset == 12
  with pytest.raises(ValueError, match="max_query_length"):
    squad_features.convert_examples_to_features(
        [example], tokenizer, 13, 8, 10, is_training=False)


def test_impossible_example_labels_cls(tokenizer):
  example = squad_examples.SquadExample("q", "?", "a b c", "", -1, True)
  (feature,) = squad_features.convert_examples_to_features(
      [example], tokenizer, 32, 8, 10, is_training=True)
  assert feature.is_impossible
  assert (feature.start_position, feature.end_position) == (0, 0)
  arrays = squad_features.features_to_arrays([feature], is_training=True)
  assert arrays["is_impossible"].tolist() == [1]
  assert arrays["input_word_ids"].shape == (1, 32)


def _reference_banded_lcs(a, b, max_dist):
  """The original's recurrence cell by cell, with a dict for f and g."""
  f, g = {}, {}
  for i in range(len(a)):
    for j in range(i - max_dist, i + max_dist):
      if j >= len(b) or j < 0:
        continue
      value = 0
      if i > 0:
        g[(i, j)] = 0
        value = f.get((i - 1, j), 0)
      if j > 0 and f.get((i, j - 1), 0) > value:
        g[(i, j)] = 1
        value = f[(i, j - 1)]
      f_prev = f.get((i - 1, j - 1), 0) if i > 0 and j > 0 else 0
      if a[i] == b[j] and f_prev + 1 > value:
        g[(i, j)] = 2
        value = f_prev + 1
      f[(i, j)] = value
  return f.get((len(a) - 1, len(b) - 1), 0), g


def test_banded_lcs_equals_the_original_recurrence():
  rng = np.random.default_rng(5)
  for _ in range(200):
    a = "".join(rng.choice(list("ab c"), size=rng.integers(1, 30)))
    b = "".join(rng.choice(list("ab c"), size=rng.integers(1, 30)))
    max_dist = int(rng.integers(1, 12))
    expected_score, expected_back = _reference_banded_lcs(a, b, max_dist)
    score, back = squad_features._banded_lcs(list(a), b, max_dist)
    assert score == expected_score
    for i in range(len(a)):
      for j in range(len(b)):
        assert squad_features._pointer(back, i, j) == expected_back.get(
            (i, j), squad_features._UNSET), (a, b, max_dist, i, j)


def test_convert_index_falls_back_to_neighbours():
  index = [None, 3, None, None, 7, None]
  assert squad_features.convert_index(index, 1) == 3
  assert squad_features.convert_index(index, 2, is_start=True) == 4
  assert squad_features.convert_index(index, 2, is_start=False) == 6
  assert squad_features.convert_index(index, 0, is_start=True) == 0
  assert squad_features.convert_index(index, 0, is_start=False) == 2
  assert squad_features.convert_index(index, 5, m=10, is_start=True) == 8
  assert squad_features.convert_index(index, 5, m=10, is_start=False) == 9


# ---- decoding ----

def _features_for(tokenizer, example, **kw):
  return squad_features.convert_examples_to_features(
      [example], tokenizer, is_training=False, **kw)


def _peaked(length, index, value=10.0):
  scores = np.zeros(length)
  scores[index] = value
  return scores.tolist()


def test_v1_decoding_recovers_the_marked_span(tokenizer):
  example = _answer_example("ZEBRA-crossing")
  settings = dict(max_seq_length=40, doc_stride=4, max_query_length=8)
  train = squad_features.convert_examples_to_features(
      [example], tokenizer, is_training=True, **settings)
  features = _features_for(tokenizer, example, **settings)
  labelled = next(t for t in train if not t.is_impossible)
  span_start = labelled.doc_span_index * 4
  global_start = labelled.start_position - labelled.doc_offset + span_start
  global_end = labelled.end_position - labelled.doc_offset + span_start
  results = []
  for f in features:
    # Logits peaked at the answer's pieces in every window holding them.
    offset = f.doc_offset - f.doc_span_index * 4
    start = global_start + offset
    end = global_end + offset
    results.append(postprocessing.RawResult(
        f.unique_id,
        _peaked(40, start if f.doc_offset <= start < 40 else 0),
        _peaked(40, end if f.doc_offset <= end < 40 else 0)))
  predictions, nbest = postprocessing.decode_predictions_v1(
      [example], features, results, n_best_size=5, max_answer_length=30)
  assert predictions == {"q": "ZEBRA-crossing"}
  entries = nbest["q"]
  assert entries[0]["text"] == "ZEBRA-crossing"
  assert sum(e["probability"] for e in entries) == pytest.approx(1.0)
  assert len({e["text"] for e in entries}) == len(entries) <= 5
  # A too short max_answer_length forbids the 11-piece answer.
  predictions, _ = postprocessing.decode_predictions_v1(
      [example], features, results, n_best_size=5, max_answer_length=3)
  assert predictions["q"] != "ZEBRA-crossing"


def test_v2_decoding_and_null_threshold(tokenizer):
  example = squad_examples.SquadExample("q", "what?", "alpha beta gamma")
  (feature,) = _features_for(tokenizer, example, max_seq_length=16,
                             doc_stride=8, max_query_length=4)
  offset = feature.doc_offset
  # Starts: the question position 1 (invalid), then the "beta" pieces.
  first = next(i for i, s in enumerate(feature.tok_start_to_orig_index)
               if s >= 5)
  last = max(i for i, e in enumerate(feature.tok_end_to_orig_index)
             if e <= 9)
  beta, beta_end = first + offset, last + offset
  result = postprocessing.RawResultV2(
      unique_id=feature.unique_id,
      start_top_log_probs=[-0.1, -0.5], start_top_index=[1, beta],
      end_top_log_probs=[-0.1, -2.0, -0.2, -3.0],
      end_top_index=[1, 2, beta_end, beta - 1],
      cls_logits=0.7)
  predictions, nbest, null_odds = postprocessing.decode_predictions_v2(
      [example], [feature], [result], n_best_size=5, max_answer_length=30,
      start_n_top=2, end_n_top=2)
  assert predictions["q"] == "beta"
  assert null_odds["q"] == pytest.approx(0.7)
  assert [e["text"] for e in nbest["q"]] == ["beta"]
  predictions, _, _ = postprocessing.decode_predictions_v2(
      [example], [feature], [result], 5, 30, 2, 2,
      null_score_diff_threshold=0.5)
  assert predictions["q"] == ""
  predictions, _, _ = postprocessing.decode_predictions_v2(
      [example], [feature], [result], 5, 30, 2, 2,
      null_score_diff_threshold=0.8)
  assert predictions["q"] == "beta"


def test_prediction_files_are_written_atomically(tmp_path):
  paths = postprocessing.write_prediction_files(
      str(tmp_path), {"q": "a"}, {"q": [{"text": "a"}]}, {"q": 0.1})
  assert json.loads((tmp_path / "predictions.json").read_text()) == {"q": "a"}
  assert json.loads((tmp_path / "null_odds.json").read_text()) == {"q": 0.1}
  assert set(paths) == {"predictions", "nbest", "null_odds"}
  assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
