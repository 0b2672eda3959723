"""Tokenizer files passed to the wrong flag are refused with a clear error."""

import pytest

from albert_tf import errors
from albert_tf.tokenization import python_input_packer
from albert_tf.tokenization import python_tokenizer
import reference_data as ref

SPM_VOCAB = ref.SPM_MODEL[:-len(".model")] + ".vocab"


@pytest.mark.parametrize("make", [
    lambda path: python_tokenizer.FullTokenizer(vocab_file=path),
    lambda path: python_input_packer.make_tokenizer(vocab_file=path),
])
def test_sentencepiece_vocab_as_vocab_file(make):
  with pytest.raises(python_tokenizer.TokenizerError) as raised:
    make(SPM_VOCAB)
  message = str(raised.value)
  assert message.startswith(f"{SPM_VOCAB} is a SentencePiece vocabulary")
  assert "as --spm_model_file" in message
  assert isinstance(raised.value, errors.UserError)
  assert isinstance(raised.value, ValueError)


def test_graph_tokenizer_gives_the_same_hint():
  # Imported here: it needs tensorflow_text.
  from albert_tf.tokenization import graph_wordpiece_tokenizer  # pylint: disable=g-import-not-at-top,line-too-long
  with pytest.raises(python_tokenizer.TokenizerError,
                     match="as --spm_model_file"):
    graph_wordpiece_tokenizer.WordpieceGraphTokenizer(SPM_VOCAB)


def test_other_wrong_vocab_files(tmp_path):
  with pytest.raises(python_tokenizer.TokenizerError,
                     match="a SentencePiece .model goes to --spm_model_file"):
    python_tokenizer.FullTokenizer(vocab_file=ref.SPM_MODEL)
  no_unk = tmp_path / "vocab.txt"
  no_unk.write_text("[CLS]\n[SEP]\nhello\n")
  with pytest.raises(python_tokenizer.TokenizerError,
                     match=f"{no_unk} has no \\[UNK\\] token"):
    python_tokenizer.FullTokenizer(vocab_file=str(no_unk))
  with pytest.raises(errors.FlagError, match="--spm_model_file"):
    python_input_packer.make_tokenizer()
  # The real thing still works.
  tokenizer = python_tokenizer.FullTokenizer(vocab_file=ref.ZH_VOCAB)
  assert tokenizer.convert_tokens_to_ids(["[UNK]"]) == [
      tokenizer.vocab["[UNK]"]]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
