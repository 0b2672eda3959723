"""The in-graph RACE packing of run_race's export equals race_data.encode."""

import numpy as np
import pytest
import tensorflow as tf

from reference_data import SPM_MODEL
from reference_data import ZH_VOCAB
from albert_tf import tokenization
from albert_tf.tokenization import python_tokenizer
from albert_tf.tasks import race_data
from albert_tf.tasks import race_serving
from albert_tf.tokenization.python_input_packer import Packer

MAX_QA_LENGTH = 12
LONG_OPTION = "a very " + "very " * 30 + "long option about white cows"
# (article, question, options): blanks, no blank, several blanks, a long
# article and a long option, casing/whitespace/accents that preprocess_text
# changes, regex metacharacters and backslashes in options, empty strings.
CASES = [
    ("The BOX is red .  The car is blue .", "the box is _ .",
     ["red", "blue", "dog", "cat"]),
    ("the hat is green . the door is pink . " * 20,
     "what color is the door ?", ["pink", "green", "horse", "bird"]),
    ("the car is black .", "what color is the car ?",
     ["black", LONG_OPTION, "cow", "fish"]),
    ("Café  über\tnaïve", "Fill _ and _ twice", ["A\\1b", "$0 (x)", "_", ""]),
    ("", "", ["", " ", "only option", "x_y"]),
    ("short", "_", ["Über", "two words", LONG_OPTION, "d"]),
]


def _tokenizers(**files):
  return (python_tokenizer.FullTokenizer(files.get("vocab_file"),
                                     spm_model_file=files.get(
                                         "spm_model_file")),
          tokenization.make_graph_tokenizer(**files))


@pytest.fixture(scope="module")
def tokenizers():
  return _tokenizers(spm_model_file=SPM_MODEL)


def test_question_with_option_matches_python():
  questions = [c[1] for c in CASES]
  options = [c[2] for c in CASES]
  got = race_serving.questions_with_options(tf.constant(questions),
                                            tf.constant(options)).numpy()
  for row, question, choices in zip(got, questions, options):
    assert [s.decode() for s in row] == [
        race_data.question_with_option(question, o) for o in choices]


@pytest.mark.parametrize("seq_length, wordpiece", [
    (3, False), (24, False), (64, False), (24, True)])
def test_graph_packing_equals_python_pipeline(tokenizers, seq_length,
                                              wordpiece):
  tokenizer, graph_tokenizer = (_tokenizers(vocab_file=ZH_VOCAB) if wordpiece
                                else tokenizers)
  packing = race_serving.RacePacking(4, MAX_QA_LENGTH)

  @tf.function  # As in the export: a traced graph, any batch size.
  def pack(article, question, options):
    return packing(graph_tokenizer, article, question, options, seq_length)

  packed = pack(tf.constant([c[0] for c in CASES]),
                tf.constant([c[1] for c in CASES]),
                tf.constant([c[2] for c in CASES]))
  packer = Packer(tokenizer, seq_length)
  for i, (article, question, options) in enumerate(CASES):
    expected = race_data.encode(
        race_data.RaceExample(str(i), article, question, options), packer,
        MAX_QA_LENGTH)
    for key, value in packed.items():
      assert value.shape == (len(CASES), 4, seq_length)
      np.testing.assert_array_equal(value[i].numpy(), expected[key],
                                    err_msg=f"case {i}, {key}")


def test_long_inputs_are_cut_like_the_original(tokenizers):
  """The qa segment keeps its end (the option); the article its start."""
  tokenizer, graph_tokenizer = tokenizers
  article, question, options = CASES[2]
  packed = race_serving.RacePacking(4, MAX_QA_LENGTH)(
      graph_tokenizer, tf.constant([article]), tf.constant([question]),
      tf.constant([options]), 40)["input_word_ids"].numpy()[0, 1]
  qa = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(
      f"{question} {LONG_OPTION}"))
  sep = tokenizer.vocab["[SEP]"]
  ends = [i for i, t in enumerate(packed) if t == sep]
  assert len(ends) == 2
  assert packed[ends[0] + 1:ends[1]].tolist() == qa[-MAX_QA_LENGTH:]


def test_bad_settings():
  with pytest.raises(ValueError, match="max_qa_length"):
    race_serving.RacePacking(4, 0)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
