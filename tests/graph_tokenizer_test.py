"""The in-graph tokenizers give exactly the Python path's ids."""

import os

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest
import tensorflow as tf

from albert_tf import tokenization
from albert_tf.tokenization import python_tokenizer
import reference_data as ref

CASES = ref.tokenization_cases()
SPM_MODEL = ref.SPM_MODEL
ZH_VOCAB = ref.ZH_VOCAB


@pytest.fixture(scope="module")
def tokenizers():
  """(python tokenize → ids, compiled graph tokenize) per vocab kind."""
  sp_python = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  wp_python = python_tokenizer.FullTokenizer(ZH_VOCAB, do_lower_case=True)
  sp_graph = tokenization.make_graph_tokenizer(spm_model_file=SPM_MODEL)
  wp_graph = tokenization.make_graph_tokenizer(vocab_file=ZH_VOCAB)
  signature = [tf.TensorSpec([None], tf.string)]

  def python_sp(t):
    return sp_python.convert_tokens_to_ids(sp_python.tokenize(
        python_tokenizer.preprocess_text(t, lower=True)))

  def python_wp(t):
    return wp_python.convert_tokens_to_ids(wp_python.tokenize(t))

  return {
      "sentencepiece": (python_sp, tf.function(
          sp_graph.tokenize, input_signature=signature), sp_graph),
      "wordpiece": (python_wp, tf.function(
          wp_graph.tokenize, input_signature=signature), wp_graph),
  }


KINDS = ("sentencepiece", "wordpiece")


@pytest.mark.parametrize("kind", KINDS)
def test_all_reference_cases_in_one_batch(kind, tokenizers):
  _, graph, _ = tokenizers[kind]
  key = "sp_ids" if kind == "sentencepiece" else "wp_ids"
  ids = graph(tf.constant([c["text"] for c in CASES]))
  assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
  assert ids.to_list() == [c[key] for c in CASES]


def test_digit_comma_rule_in_graph(tokenizers):
  python, graph, tokenizer = tokenizers["sentencepiece"]
  for sample in ("was 3,5", "10,000,000.", "a1, b22,, ٣,", "1,2,3,4,5,"):
    assert graph(tf.constant([sample])).to_list()[0] == python(sample)
  pieces = tokenizer.tokenize_pieces(["was 3,5"]).to_list()[0]
  assert [p.decode() for p in pieces] == python_tokenizer.FullTokenizer(
      None, spm_model_file=SPM_MODEL).tokenize("was 3,5")


# Characters the rules treat specially, to make collisions likely.
_INTERESTING = ("0123456789,.;:!?'\"()[]-–—_ \t\n\r\x0b\x0c\x1c\x85\xa0"
                "\u2028\u3000\u200b\ufeff\x00\ufffdaAzZéÉñÑİıΣσςß\u0301\u0308"
                "ﬁ²³½①٣४\u4e2d\u6587\u3002\uff0c\U00020000\U0001F600")
TEXTS = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                max_size=30),
        st.text(alphabet=_INTERESTING, max_size=30)),
    min_size=1, max_size=4)


def _check_agreement(kind, tokenizers, texts):
  python, graph, tokenizer = tokenizers[kind]
  got = graph(tf.constant([t.encode("utf-8") for t in texts])).to_list()
  for sample, ids in zip(texts, got):
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
    assert ids == python(sample), repr(sample)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(texts=TEXTS)
def test_sentencepiece_python_and_graph_agree(tokenizers, texts):
  _check_agreement("sentencepiece", tokenizers, texts)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(texts=TEXTS)
def test_wordpiece_python_and_graph_agree(tokenizers, texts):
  _check_agreement("wordpiece", tokenizers, texts)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_and_empty_inputs(kind, tokenizers):
  _, graph, _ = tokenizers[kind]
  with pytest.raises(tf.errors.InvalidArgumentError, match="not valid UTF-8"):
    graph(tf.constant([b"caf\xe9"]))
  assert graph(tf.constant([""])).to_list() == [[]]
  assert graph(tf.constant([], tf.string)).to_list() == []


def test_bad_files(tmp_path):
  with pytest.raises(python_tokenizer.TokenizerError, match="not found"):
    tokenization.make_graph_tokenizer(spm_model_file=str(tmp_path / "missing.model"))
  no_specials = tmp_path / "vocab.txt"
  no_specials.write_text("a\nb\n")
  with pytest.raises(python_tokenizer.TokenizerError, match=r"no \[UNK\]"):
    tokenization.make_graph_tokenizer(vocab_file=str(no_specials))
  with pytest.raises(ValueError, match="vocab_file"):
    tokenization.make_graph_tokenizer()


def test_special_ids_come_from_the_vocabulary(tokenizers):
  assert tokenizers["sentencepiece"][2].special_ids == {
      "pad_id": 0, "unk_id": 1, "cls_id": 2, "sep_id": 3, "mask_id": 4}
  assert tokenizers["wordpiece"][2].special_ids == {
      "pad_id": 0, "unk_id": 100, "cls_id": 101, "sep_id": 102,
      "mask_id": 103}


def test_graph_holds_no_file_paths(tokenizers, tmp_path):
  """The exported graph embeds the model/vocab, not the path it came from."""
  for kind in KINDS:
    _, graph, tokenizer = tokenizers[kind]
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = graph
    export = str(tmp_path / kind)
    tf.saved_model.save(module, export)
    blob = b""
    for root, _, files in os.walk(export):
      for name in files:
        with open(os.path.join(root, name), "rb") as f:
          blob += f.read()
    assert ref.REFERENCE_DIR.encode() not in blob
    assert b"tiny-clean.model" not in blob and b"zh_vocab.txt" not in blob
    reloaded = tf.saved_model.load(export)
    want = graph(tf.constant([c["text"] for c in CASES])).to_list()
    assert reloaded.tokenize(tf.constant([c["text"] for c in CASES])
                             ).to_list() == want


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
