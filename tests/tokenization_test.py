"""The Python tokenizers reproduce the original python_tokenizer.py exactly."""

import os

import pytest

from albert_tf.tokenization import python_tokenizer
import reference_data as ref

CASES = ref.tokenization_cases()
SPM_MODEL = ref.SPM_MODEL
ZH_VOCAB = ref.ZH_VOCAB


@pytest.fixture(scope="module")
def sp_tokenizer():
  return python_tokenizer.FullTokenizer(vocab_file=None, spm_model_file=SPM_MODEL)


@pytest.fixture(scope="module")
def wp_tokenizer():
  return python_tokenizer.FullTokenizer(vocab_file=ZH_VOCAB, do_lower_case=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["text"][:20]))
def test_sentencepiece_pieces_and_ids(case, sp_tokenizer):
  pieces = sp_tokenizer.tokenize(
      python_tokenizer.preprocess_text(case["text"], lower=True))
  assert pieces == case["sp_pieces"]
  assert sp_tokenizer.convert_tokens_to_ids(pieces) == case["sp_ids"]
  if 1 not in case["sp_ids"]:  # Unknown pieces all come back as <unk>.
    assert sp_tokenizer.convert_ids_to_tokens(case["sp_ids"]) == pieces


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["text"][:20]))
def test_wordpiece_tokens_and_ids(case, wp_tokenizer):
  tokens = wp_tokenizer.tokenize(case["text"])
  assert tokens == case["wp_tokens"]
  assert wp_tokenizer.convert_tokens_to_ids(tokens) == case["wp_ids"]
  assert wp_tokenizer.convert_ids_to_tokens(case["wp_ids"]) == tokens


def test_digit_comma_quirk_is_kept(sp_tokenizer):
  pieces = sp_tokenizer.tokenize("was 3,5")
  assert "," in pieces and pieces[pieces.index(",") - 1].endswith("3")
  assert python_tokenizer.is_digit_comma_piece("▁3,")
  assert not python_tokenizer.is_digit_comma_piece(",")
  assert not python_tokenizer.is_digit_comma_piece("a,")


def test_preprocess_text():
  assert python_tokenizer.preprocess_text("  Caf\u00e9\t\n  OK ") == "Cafe OK"
  assert python_tokenizer.preprocess_text("Caf\u00e9", lower=True) == "cafe"
  assert python_tokenizer.preprocess_text("a  b", remove_space=False) == "a  b"
  assert python_tokenizer.preprocess_text(b"caf\xc3\xa9") == "cafe"
  assert python_tokenizer.preprocess_text("") == ""


def test_vocab_surface(sp_tokenizer, wp_tokenizer):
  assert len(wp_tokenizer.vocab) == 21128
  assert wp_tokenizer.vocab["[CLS]"] == 101
  assert wp_tokenizer.inv_vocab[103] == "[MASK]"
  assert len(sp_tokenizer.vocab) == 4000
  assert sp_tokenizer.vocab["[CLS]"] == 2 and sp_tokenizer.vocab["<pad>"] == 0


def test_sentencepiece_vocab_file_loads_as_wordpiece_vocab():
  vocab = python_tokenizer.load_vocab(os.path.join(ref.TOKENIZATION_DIR,
                                               "tiny-clean.vocab"))
  assert vocab["<unk>"] == 1 and vocab["[MASK]"] == 4 and len(vocab) == 4000


def test_bad_inputs(tmp_path):
  with pytest.raises(python_tokenizer.TokenizerError, match="not found"):
    python_tokenizer.FullTokenizer(None, spm_model_file=str(tmp_path / "no.model"))
  corrupt = tmp_path / "corrupt.model"
  corrupt.write_bytes(b"\x00\x01 definitely not a model")
  with pytest.raises(python_tokenizer.TokenizerError, match="not a valid"):
    python_tokenizer.FullTokenizer(None, spm_model_file=str(corrupt))
  with pytest.raises(python_tokenizer.TokenizerError, match="cannot read"):
    python_tokenizer.FullTokenizer(str(tmp_path / "missing.txt"))
  binary = tmp_path / "binary.txt"
  binary.write_bytes(b"[PAD]\n\xff\xfe\n")
  with pytest.raises(python_tokenizer.TokenizerError, match="binary.txt:2"):
    python_tokenizer.load_vocab(str(binary))
  empty = tmp_path / "empty.txt"
  empty.write_text("")
  with pytest.raises(python_tokenizer.TokenizerError, match="empty"):
    python_tokenizer.load_vocab(str(empty))
  tokenizer = python_tokenizer.FullTokenizer(ZH_VOCAB)
  with pytest.raises(python_tokenizer.TokenizerError, match="not valid UTF-8"):
    tokenizer.tokenize(b"caf\xe9")
  # The documented result for empty text: no tokens.
  assert tokenizer.tokenize("") == []
  assert python_tokenizer.FullTokenizer(
      None, spm_model_file=SPM_MODEL).tokenize("") == []


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
