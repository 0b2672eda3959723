"""The tagger export's entities (tasks/token_serving.py) against the Python
path that writes test_spans.tsv, with a deterministic stand-in tagger (no
training: the rule under test is the word splitting, packing, tag-to-word
and chunk rules, not a model)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import export_fixtures as fx
import reference_data as ref
from albert_tf import quickstart_job
from albert_tf import tokenization
from albert_tf.tasks import metrics
from albert_tf.tasks import token_data
from albert_tf.tasks import token_serving
from albert_tf.tokenization.python_input_packer import Packer
from serving_export_test import OPS_SCRIPT
from tfhub_export import serving_export

LABELS = ["O", "B-DISH", "I-DISH", "B-DRINK", "I-DRINK"]
TEXTS = [
    "the pad thai, please",
    "crème brûlée and 北京烤鸭 are nice!!",
    "",
    "   \t ",
    "Ünïcödé wörds — dashes… 'quotes' and\u00a0nbsp_under_score 3,5 €12",
    "e\u0301clair (decomposed) and ﬁsh 🍜 ramen",
    "我们在北京大学学习。今天天气很好",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 2 + "end.",
]
TOKENIZERS = {
    "sentencepiece": dict(spm_model_file=ref.SPM_MODEL),
    "wordpiece": dict(vocab_file=ref.ZH_VOCAB),
}


def _fake_tags(ids, xp):
  """A tag id per piece from its id and position (parts matter)."""
  positions = xp.arange(ids.shape[-1]) if xp is np else tf.range(
      tf.shape(ids)[-1])[None]
  return (ids * 7 + positions // 3) % len(LABELS)


def _fake_logits(ids, tags, xp):
  if xp is np:
    one_hot = np.eye(len(LABELS))[tags]
    return one_hot * 2.0 + (ids[..., None] % 3) * 0.1
  return (tf.one_hot(tags, len(LABELS)) * 2.0 +
          tf.cast(ids[..., None] % 3, tf.float32) * 0.1)


class FakeTagger(tf.Module):
  """Stands in for TokenClassifierModel: tag_ids and probabilities."""

  def __call__(self, inputs):
    ids = inputs["input_word_ids"]
    tags = _fake_tags(ids, tf)
    return {"tag_ids": tags,
            "probabilities": tf.nn.softmax(_fake_logits(ids, tags, tf))}


def python_entities(tokenizer, text, seq_length):
  """[(type, text, start, end, score)] as the Python path finds them
  (test_spans.tsv's spans; score: the mean of the words' tag
  probabilities)."""
  packer = Packer(tokenizer, seq_length)
  words, offsets = token_data.split_words(text)
  sentence = token_data.Sentence(words, None, "", text, offsets)
  chunks = token_data.encode(
      sentence, token_data.word_pieces(tokenizer, words), packer,
      {t: i for i, t in enumerate(LABELS)})
  tags, scores = [], []
  for features, positions in chunks:
    ids = features["input_word_ids"]
    tag_ids = _fake_tags(ids, np)
    logits = _fake_logits(ids, tag_ids, np)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    tags += token_data.word_tags(tag_ids, positions, LABELS)
    scores += [probabilities[p, tag_ids[p]] if p is not None else 1.0
               for p in positions]
  return [(kind, sentence.span_text(first, last), offsets[first][0],
           offsets[last][1], float(np.mean(scores[first:last + 1])))
          for kind, first, last in metrics.get_entities(tags)]


def served_entities(outputs, row):
  count = min(int(outputs["num_entities"][row]),
              outputs["entities"].shape[1])
  return [(outputs["entity_types"][row, k].numpy().decode(),
           outputs["entities"][row, k].numpy().decode(),
           int(outputs["entity_starts"][row, k]),
           int(outputs["entity_ends"][row, k]),
           float(outputs["entity_scores"][row, k])) for k in range(count)]


def _extract(name, texts, seq_length, max_entities=64):
  tokenizer = tokenization.make_graph_tokenizer(**TOKENIZERS[name])
  extraction = token_serving.EntityExtraction(LABELS, max_entities)
  return extraction(tokenizer, FakeTagger(), tf.constant(texts), seq_length)


def _python_tokenizer(name):
  kwargs = TOKENIZERS[name]
  return tokenization.FullTokenizer(kwargs.get("vocab_file"),
                                    do_lower_case=True,
                                    spm_model_file=kwargs.get(
                                        "spm_model_file"))


def _assert_same(got, want):
  assert [g[:4] for g in got] == [w[:4] for w in want]
  np.testing.assert_allclose([g[4] for g in got], [w[4] for w in want],
                             atol=1e-6)


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@pytest.mark.parametrize("seq_length", [8, 64])
def test_entities_equal_the_python_spans(name, seq_length):
  """A batch with non-ASCII, CJK, empty and long texts; seq_length 8 splits
  most texts into several parts, as the Python path does."""
  outputs = _extract(name, TEXTS, seq_length)
  tokenizer = _python_tokenizer(name)
  found = 0
  for row, text in enumerate(TEXTS):
    want = python_entities(tokenizer, text, seq_length)
    got = served_entities(outputs, row)
    _assert_same(got, want)
    assert int(outputs["num_entities"][row]) == len(want)
    found += len(want)
    for _, entity, start, end, _ in got:
      assert text[start:end] == entity  # Code points: Python str indices.
  assert found > 20  # The stand-in tags plenty (the test tests something).


def test_words_split_like_token_data():
  """Words and offsets of the graph's split equal token_data.split_words,
  for every code point class the regex distinguishes."""
  texts = TEXTS + ["".join(chr(c) for c in range(0x20, 0x3000, 7)),
                   "x\u2028y\u3000z\x1cw_\u0660\u00b2\u2163"]
  words, starts, ends = token_serving.split_words(tf.constant(texts))
  for row, text in enumerate(texts):
    want_words, want_offsets = token_data.split_words(text)
    raw = text.encode("utf-8")
    got_offsets = [(len(raw[:s].decode()), len(raw[:e].decode()))
                   for s, e in zip(starts[row].numpy(), ends[row].numpy())]
    assert [w.decode() for w in words[row].numpy()] == want_words
    assert got_offsets == want_offsets


def test_more_entities_than_the_maximum_keeps_the_first():
  text = "a b c d e f g h i j k l m n o p q r s t u v w x y z"
  outputs = _extract("sentencepiece", [text, "", "crème brûlée"], 64,
                     max_entities=3)
  want = python_entities(_python_tokenizer("sentencepiece"), text, 64)
  assert len(want) > 3
  assert outputs["entities"].shape == (3, 3)
  assert int(outputs["num_entities"][0]) == len(want)
  _assert_same(served_entities(outputs, 0), want[:3])
  # Padding: "" texts and types, -1 offsets, 0 scores.
  assert outputs["entities"][1].numpy().tolist() == [b""] * 3
  assert outputs["entity_types"][1].numpy().tolist() == [b""] * 3
  assert outputs["entity_starts"][1].numpy().tolist() == [-1] * 3
  assert outputs["entity_ends"][1].numpy().tolist() == [-1] * 3
  assert outputs["entity_scores"][1].numpy().tolist() == [0.0] * 3
  assert int(outputs["num_entities"][1]) == 0


def test_empty_batch_and_empty_texts():
  outputs = _extract("sentencepiece", ["", " "], 16, max_entities=2)
  assert outputs["entities"].numpy().tolist() == [[b"", b""]] * 2
  assert outputs["num_entities"].numpy().tolist() == [0, 0]
  # An empty text is packed [CLS] [SEP], as the old signature packed it.
  assert outputs["tag_ids"].shape == (2, 16)
  outputs = _extract("sentencepiece", tf.zeros([0], tf.string), 16)
  assert outputs["entities"].shape == (0, 64)


def test_the_label_list_must_have_o():
  with pytest.raises(ValueError, match="no O tag"):
    token_serving.EntityExtraction(["B-X", "I-X"])
  with pytest.raises(ValueError, match="max_entities must be positive"):
    token_serving.EntityExtraction(LABELS, 0)


@pytest.fixture(scope="module")
def tagger_export(tmp_path_factory):
  base = str(tmp_path_factory.mktemp("tagger") / "tagger")
  return serving_export.export_serving_model(
      FakeTagger(), base, seq_length=16, output_names=["tag_ids",
                                                        "probabilities"],
      text_tagging=token_serving.EntityExtraction(LABELS, 4),
      **TOKENIZERS["sentencepiece"])


SERVE_SCRIPT = """
import json
loaded = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]))
result = {}
for name, kwargs in (("default", dict(text=texts)),
                     ("old_form", dict(text_a=texts,
                                       text_b=tf.fill(tf.shape(texts), "")))):
  signature = "serving_default" if name == "default" else "serve_text_a"
  out = loaded.signatures[signature](**kwargs)
  result[name] = {k: v.numpy().tolist() for k, v in out.items()}
  for k in ("entities", "entity_types"):
    result[name][k] = [[s.decode() for s in row] for row in result[name][k]]
try:
  loaded.signatures["serve_text_a"](text_a=texts, text_b=texts)
  result["bad_request"] = None
except tf.errors.InvalidArgumentError as e:
  result["bad_request"] = e.message
result["signatures"] = sorted(loaded.signatures)
print(json.dumps(result))
"""


def test_export_serves_text_in_a_fresh_process(tagger_export):
  """serving_default takes `text`; serve_text_a the old text_a/text_b
  request; only TensorFlow and TF Text are imported."""
  texts = TEXTS[:3]
  stdout = fx.run_fresh(SERVE_SCRIPT, tagger_export, json.dumps(texts))
  result = json.loads(stdout.strip().splitlines()[-1])
  assert result["signatures"] == ["serve_text", "serve_text_a",
                                  "serve_tf_example", "serve_token_ids",
                                  "serving_default"]
  served = result["default"]
  assert set(served) == {"tag_ids", "probabilities",
                         *token_serving.ENTITY_OUTPUTS}
  assert result["old_form"] == served
  assert "text_b must be empty" in result["bad_request"]
  tokenizer = _python_tokenizer("sentencepiece")
  for row, text in enumerate(texts):
    want = python_entities(tokenizer, text, 16)[:4]
    count = min(served["num_entities"][row], 4)
    got = [(served["entity_types"][row][k], served["entities"][row][k],
            served["entity_starts"][row][k], served["entity_ends"][row][k],
            served["entity_scores"][row][k]) for k in range(count)]
    _assert_same(got, want)


def test_the_quick_start_s_python_client_asks_the_tagger(tagger_export):
  """The no-server client the quick start prints sends what the tagger's
  serving_default takes (`text`), and prints its entities."""
  command = quickstart_job.python_client(os.path.dirname(tagger_export),
                                         {"text": TEXTS[0]})
  result = subprocess.run(
      ["bash", "-c", command.replace("python -c", f"{sys.executable} -c", 1)],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "entities: [[" in result.stdout
  assert "entity_starts: [[" in result.stdout


def test_tagger_export_uses_only_core_and_tf_text_ops(tagger_export):
  """TF Serving 2.20 links core TF and TF Text: nothing else (no
  py_function) may be in the graph."""
  path = os.path.join(tagger_export, "saved_model.pb")
  result = subprocess.run([sys.executable, "-c", OPS_SCRIPT, path],
                          capture_output=True, text=True, env=fx.fresh_env(),
                          cwd=ref.PROJECT_ROOT, timeout=300, check=True)
  ops = json.loads(result.stdout.splitlines()[-1])[path]
  assert ops["unknown"] == []
  assert "RegexSplitWithOffsets" in ops["text"]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
