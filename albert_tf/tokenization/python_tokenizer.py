"""The original ALBERT tokenization.py, ported to Python 3 with its behaviour.

Public surface as in google-research/albert so migrating code keeps working:
`preprocess_text`, `encode_pieces`, `encode_ids`, `FullTokenizer`,
`BasicTokenizer`, `WordpieceTokenizer`, `load_vocab`, `convert_to_unicode`.

Two faithfully kept quirks (see docs/original_quirks.md, "Tokenization"):
- The SentencePiece path does not lowercase: callers run preprocess_text
  first, as create_pretraining_data and the fine-tuning readers do.
- The digit-comma rule in encode_pieces re-encodes "3," as "3" + ",", and
  the original's bytes/str mix-up makes its "drop the inserted ▁" branch dead,
  so a lone "▁" piece can remain ("was 3,5" → ▁was ▁ ▁3 , 5).
"""

import collections
import os
import unicodedata

import sentencepiece as spm

from albert_tf.errors import UserError

SPIECE_UNDERLINE = "\u2581"
# The original WordpieceTokenizer's limit, in characters.
MAX_INPUT_CHARS_PER_WORD = 200


class TokenizerError(UserError, ValueError):
  """A vocabulary or model file is missing or corrupt, or input is invalid."""


def convert_to_unicode(text):
  """str as is; bytes decoded as UTF-8, with a clear error when they are not."""
  if isinstance(text, str):
    return text
  if isinstance(text, bytes):
    try:
      return text.decode("utf-8")
    except UnicodeDecodeError as e:
      raise TokenizerError(
          f"input is not valid UTF-8 (byte {e.start}: "
          f"{text[e.start:e.start + 4]!r})") from e
  raise TypeError(f"expected str or bytes, got {type(text).__name__}")


def printable_text(text):
  """Kept for API compatibility; in Python 3 this is convert_to_unicode."""
  return convert_to_unicode(text)


def preprocess_text(inputs, remove_space=True, lower=False):
  """Collapses whitespace, NFKD-normalizes, drops combining marks, lowercases."""
  outputs = convert_to_unicode(inputs)
  if remove_space:
    outputs = " ".join(outputs.strip().split())
  outputs = unicodedata.normalize("NFKD", outputs)
  outputs = "".join(c for c in outputs if not unicodedata.combining(c))
  if lower:
    outputs = outputs.lower()
  return outputs


def is_digit_comma_piece(piece):
  """The original's test for pieces the digit-comma rule re-encodes."""
  return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def encode_pieces(sp_model, text, sample=False):
  """SentencePiece pieces with the original's digit-comma rule (and quirk)."""
  text = convert_to_unicode(text)
  if sample:
    pieces = sp_model.SampleEncodeAsPieces(text, 64, 0.1)
  else:
    pieces = sp_model.EncodeAsPieces(text)
  new_pieces = []
  for piece in pieces:
    if is_digit_comma_piece(piece):
      cur_pieces = sp_model.EncodeAsPieces(
          piece[:-1].replace(SPIECE_UNDERLINE, ""))
      # The original meant to drop a "▁" that re-encoding adds, but compared
      # str with bytes, so that never happened; nor does it here.
      cur_pieces.append(piece[-1])
      new_pieces.extend(cur_pieces)
    else:
      new_pieces.append(piece)
  return new_pieces


def encode_ids(sp_model, text, sample=False):
  return [sp_model.PieceToId(p) for p in encode_pieces(sp_model, text, sample)]


def load_vocab(vocab_file):
  """token → id from a vocab.txt, or a SentencePiece .vocab ("piece\\tscore").

  As in the original: the first whitespace-separated field of each line is
  the token, a blank line is the token " ", and a repeated token keeps its
  first id (later tokens are numbered without a gap).
  """
  vocab = collections.OrderedDict()
  try:
    with open(vocab_file, "rb") as reader:
      raw_lines = reader.read().split(b"\n")
  except OSError as e:
    raise TokenizerError(f"cannot read vocab file {vocab_file}: {e}") from e
  if raw_lines and raw_lines[-1] == b"":
    raw_lines.pop()
  for line_number, raw in enumerate(raw_lines, start=1):
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      raise TokenizerError(
          f"{vocab_file}:{line_number}: not valid UTF-8 (is this a "
          "vocab.txt? a SentencePiece .model goes to --spm_model_file)") from e
    token = line.strip().split()[0] if line.strip() else " "
    vocab.setdefault(token, len(vocab))
  if not vocab:
    raise TokenizerError(f"vocab file {vocab_file} is empty")
  return vocab


def check_wordpiece_vocab(vocab, vocab_file):
  """Raises TokenizerError unless `vocab` can drive WordPiece tokenization.

  WordPiece maps unknown words to [UNK]; a vocabulary without it fails on
  the first unknown word (KeyError '[UNK]'). The usual cause is the
  SentencePiece `.vocab` listing (piece<TAB>score, pieces like <unk> and
  \u2581the) passed where a vocab.txt belongs.
  """
  if "[UNK]" in vocab:
    return
  if "<unk>" in vocab or any(
      token.startswith(SPIECE_UNDERLINE) for token in vocab):
    raise TokenizerError(
        f"{vocab_file} is a SentencePiece vocabulary listing, not a "
        "WordPiece vocab.txt: pass the SentencePiece model (the .model file "
        "next to it) as --spm_model_file instead of --vocab_file")
  raise TokenizerError(
      f"{vocab_file} has no [UNK] token, so it is not a WordPiece vocab.txt "
      "(one token per line, with [UNK], [CLS] and [SEP])")


def wordpiece_special_ids(vocab):
  """The ids the in-graph tokenizers pack with, from a WordPiece vocab
  ([PAD] and [MASK] may be missing: 0 and -1 then)."""
  return {
      "pad_id": vocab.get("[PAD]", 0),
      "unk_id": vocab["[UNK]"],
      "cls_id": vocab["[CLS]"],
      "sep_id": vocab["[SEP]"],
      "mask_id": vocab.get("[MASK]", -1),
  }


def sentencepiece_special_ids(processor):
  """The same for a SentencePiece model (ALBERT's <pad>, [CLS], [SEP],
  [MASK] pieces)."""
  return {
      "pad_id": processor.PieceToId("<pad>"),
      "unk_id": processor.unk_id(),
      "cls_id": processor.PieceToId("[CLS]"),
      "sep_id": processor.PieceToId("[SEP]"),
      "mask_id": processor.PieceToId("[MASK]"),
  }


def convert_by_vocab(vocab, items):
  return [vocab[item] for item in items]


def whitespace_tokenize(text):
  text = text.strip()
  return text.split() if text else []


def load_sentencepiece_model(spm_model_file):
  """A SentencePieceProcessor, with a clear error for a bad file."""
  if not os.path.isfile(spm_model_file):
    raise TokenizerError(f"SentencePiece model {spm_model_file} not found")
  try:  # Another user's file is not an invalid model: say what it is.
    with open(spm_model_file, "rb"):
      pass
  except OSError as e:
    raise TokenizerError(f"SentencePiece model {spm_model_file} cannot be "
                         f"read: {e.strerror}") from None
  processor = spm.SentencePieceProcessor()
  try:
    processor.Load(spm_model_file)
  except (OSError, RuntimeError) as e:
    raise TokenizerError(
        f"{spm_model_file} is not a valid SentencePiece model: {e}") from e
  return processor


class FullTokenizer:
  """Runs end-to-end tokenization: SentencePiece, or Basic + WordPiece."""

  def __init__(self, vocab_file, do_lower_case=True, spm_model_file=None):
    self.vocab_file = vocab_file
    self.do_lower_case = do_lower_case
    self.spm_model_file = spm_model_file
    self.sp_model = None
    if spm_model_file:
      self.sp_model = load_sentencepiece_model(spm_model_file)
      self.vocab = collections.OrderedDict(
          (self.sp_model.IdToPiece(i), i)
          for i in range(self.sp_model.GetPieceSize()))
    else:
      self.vocab = load_vocab(vocab_file)
      check_wordpiece_vocab(self.vocab, vocab_file)
      self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
      self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)
    self.inv_vocab = {v: k for k, v in self.vocab.items()}

  def tokenize(self, text):
    if self.sp_model:
      return encode_pieces(self.sp_model, text)
    split_tokens = []
    for token in self.basic_tokenizer.tokenize(text):
      split_tokens.extend(self.wordpiece_tokenizer.tokenize(token))
    return split_tokens

  def convert_tokens_to_ids(self, tokens):
    if self.sp_model:
      return [self.sp_model.PieceToId(t) for t in tokens]
    return convert_by_vocab(self.vocab, tokens)

  def convert_ids_to_tokens(self, ids):
    if self.sp_model:
      return [self.sp_model.IdToPiece(i) for i in ids]
    return convert_by_vocab(self.inv_vocab, ids)


class BasicTokenizer:
  """BERT's BasicTokenizer: cleanup, CJK split, lowercase + accents, punctuation."""

  def __init__(self, do_lower_case=True):
    self.do_lower_case = do_lower_case

  def tokenize(self, text):
    text = convert_to_unicode(text)
    text = self._clean_text(text)
    text = self._tokenize_chinese_chars(text)
    split_tokens = []
    for token in whitespace_tokenize(text):
      if self.do_lower_case:
        token = self._run_strip_accents(token.lower())
      split_tokens.extend(self._run_split_on_punc(token))
    return whitespace_tokenize(" ".join(split_tokens))

  @staticmethod
  def _run_strip_accents(text):
    text = unicodedata.normalize("NFD", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn")

  @staticmethod
  def _run_split_on_punc(text):
    output = []
    start_new_word = True
    for char in text:
      if is_punctuation(char):
        output.append([char])
        start_new_word = True
      else:
        if start_new_word:
          output.append([])
        start_new_word = False
        output[-1].append(char)
    return ["".join(x) for x in output]

  @staticmethod
  def _tokenize_chinese_chars(text):
    output = []
    for char in text:
      if is_chinese_char(ord(char)):
        output.extend((" ", char, " "))
      else:
        output.append(char)
    return "".join(output)

  @staticmethod
  def _clean_text(text):
    output = []
    for char in text:
      cp = ord(char)
      if cp == 0 or cp == 0xfffd or is_control(char):
        continue
      output.append(" " if is_whitespace(char) else char)
    return "".join(output)


class WordpieceTokenizer:
  """Greedy longest-match-first WordPiece with "##" continuations."""

  def __init__(self, vocab, unk_token="[UNK]",
               max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD):
    self.vocab = vocab
    self.unk_token = unk_token
    self.max_input_chars_per_word = max_input_chars_per_word

  def tokenize(self, text):
    output_tokens = []
    for token in whitespace_tokenize(convert_to_unicode(text)):
      chars = list(token)
      if len(chars) > self.max_input_chars_per_word:
        output_tokens.append(self.unk_token)
        continue
      sub_tokens = []
      start = 0
      while start < len(chars):
        end = len(chars)
        cur_substr = None
        while start < end:
          substr = "".join(chars[start:end])
          if start > 0:
            substr = "##" + substr
          if substr in self.vocab:
            cur_substr = substr
            break
          end -= 1
        if cur_substr is None:
          sub_tokens = None
          break
        sub_tokens.append(cur_substr)
        start = end
      output_tokens.extend(sub_tokens if sub_tokens else [self.unk_token])
    return output_tokens


# Character classes, exactly as BERT's tokenization.py defines them.
def is_whitespace(char):
  if char in (" ", "\t", "\n", "\r"):
    return True
  return unicodedata.category(char) == "Zs"


def is_control(char):
  if char in ("\t", "\n", "\r"):
    return False
  return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char):
  cp = ord(char)
  if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (
      123 <= cp <= 126):
    return True
  return unicodedata.category(char).startswith("P")


CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
              (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
              (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_chinese_char(cp):
  return any(lo <= cp <= hi for lo, hi in CJK_RANGES)
