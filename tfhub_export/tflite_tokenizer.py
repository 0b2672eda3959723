"""The tokenizers of the TFLite export: TFLite kernels only.

The SavedModel exports tokenize with albert_tf.tokenization's graph
tokenizers, which need core TensorFlow string ops (RegexReplace,
StringLower, UnicodeTranscode) and TF Text ops without TFLite kernels
(NormalizeUTF8, RegexSplitWithOffsets, WordpieceTokenizeWithOffsets). In
TensorFlow 2.20 neither tf.lite.Interpreter nor ai-edge-litert's interpreter
links the Flex delegate, so a .tflite file using them would not run at all.
These tokenizers use only ops that TF Text registers as TFLite custom ops
(tensorflow_text's tflite_registrar: FastBertNormalize,
FastSentencepieceTokenize, FastWordpieceTokenize, RaggedTensorToTensor) and
TFLite builtins.

Normalization is FastBertNormalizer(lower_case_nfd_strip_accents=True):
TF Text's BERT normalizer, i.e. NFKC case folding, NFD, accents stripped,
control characters dropped, whitespace mapped to " ". The original (and
the SavedModel exports) lowercase with str.lower and, for SentencePiece,
NFKD-normalize first. For SentencePiece the two agree on every reference
case in testdata/tokenization. For WordPiece (which the original does not
NFKD-normalize) case folding changes characters the original keeps; where
the character is a word of its own either way (full-width punctuation
"，" "？" "！", "…", CJK), the WordPiece tokenizer puts the original's
piece back (a table over the Basic Multilingual Plane, looked up through
the normalizer's offsets). Characters folded into letters or digits that
join their neighbours' word still differ: full-width letters and digits
("Ａ" → "a", "１" → "1"), "™" → "tm", "ß" → "ss", ligatures ("ﬁ"),
circled digits, "～" → "~". See docs/export_and_serving.md (TFLite).
"""

import tensorflow as tf
import tensorflow_text as tf_text

from albert_tf.tokenization import python_tokenizer


def _normalizer():
  return tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=True)


class TfliteSentencepieceTokenizer(tf.Module):
  """Strings [B] → int32 ids RaggedTensor [B, (T)] with TFLite kernels.

  SentencePiece is FastSentencepieceTokenizer (as in the SavedModel
  export). The original's digit-comma rule (a piece "…3," becomes the pieces
  of "…3" then ",") depends only on the piece, so it is a table made here
  with the sentencepiece library: each piece id → the ids it becomes.
  """

  def __init__(self, spm_model_file, lower_case=True, name=None):
    super().__init__(name=name)
    if not lower_case:
      # FastBertNormalizer without lowercasing also skips NFD and accent
      # stripping, which the original does in both cases.
      raise ValueError("the TFLite export supports do_lower_case=True only "
                       "for SentencePiece vocabularies")
    processor = python_tokenizer.load_sentencepiece_model(spm_model_file)
    with open(spm_model_file, "rb") as f:
      model_proto = f.read()
    self.vocab_size = processor.GetPieceSize()
    self.special_ids = python_tokenizer.sentencepiece_special_ids(processor)
    replacements = []
    for i in range(self.vocab_size):
      piece = processor.IdToPiece(i)
      if python_tokenizer.is_digit_comma_piece(piece):
        # As python_tokenizer.encode_pieces (quirk included).
        reencoded = processor.EncodeAsPieces(
            piece[:-1].replace(python_tokenizer.SPIECE_UNDERLINE, ""))
        replacements.append([processor.PieceToId(p)
                             for p in reencoded + [piece[-1]]])
      else:
        replacements.append([i])
    # Dense [vocab_size, K], -1 padded: TFLite has no RaggedGather kernel.
    width = max(len(row) for row in replacements)
    self._replacements = tf.constant(
        [row + [-1] * (width - len(row)) for row in replacements], tf.int32)
    self._replacement_lengths = tf.constant(
        [len(row) for row in replacements], tf.int64)
    self._normalizer = _normalizer()
    self._sentencepiece = tf_text.FastSentencepieceTokenizer(model_proto)

  def tokenize(self, texts):
    ids = self._sentencepiece.tokenize(self._normalizer.normalize(texts))
    flat = tf.cast(ids.flat_values, tf.int32)
    # Digit-comma rule: every id becomes its row of the replacement table
    # (builtin ops only: gather, boolean mask, cumulative sums).
    rows = tf.gather(self._replacements, flat)                    # [N, K]
    values = tf.boolean_mask(rows, rows >= 0)
    lengths = tf.gather(self._replacement_lengths, flat)          # [N]
    ends = tf.concat([tf.zeros([1], tf.int64), tf.cumsum(lengths)], 0)
    splits = tf.gather(ends, tf.cast(ids.row_splits, tf.int64))
    return tf.RaggedTensor.from_row_splits(values, splits, validate=False)


class TfliteWordpieceTokenizer(tf.Module):
  """Strings [B] → int32 ids RaggedTensor [B, (T)] with TFLite kernels.

  FastBertNormalizer, then FastWordpieceTokenizer in its end-to-end mode
  (BERT's split on whitespace, punctuation and CJK characters). Words over
  MAX_INPUT_CHARS_PER_WORD bytes are [UNK] (the original counts
  characters: the same for ASCII words).
  """

  def __init__(self, vocab_file, lower_case=True, name=None):
    super().__init__(name=name)
    if not lower_case:
      raise ValueError("the TFLite export supports do_lower_case=True only "
                       "for WordPiece vocabularies")
    vocab = python_tokenizer.load_vocab(vocab_file)
    python_tokenizer.check_wordpiece_vocab(vocab, vocab_file)
    for token in ("[UNK]", "[CLS]", "[SEP]"):
      if token not in vocab:
        raise python_tokenizer.TokenizerError(
            f"vocab file {vocab_file} has no {token} token")
    tokens = sorted(vocab, key=vocab.get)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
      raise python_tokenizer.TokenizerError(
          f"vocab file {vocab_file}: ids are not 0..{len(tokens) - 1}")
    # A blank vocab line is the token " " (load_vocab, as the original),
    # which the original never produces: it splits on whitespace first.
    # FastWordpieceTokenizer would match it in every run of two spaces, so
    # it gets a name no word can have (brackets are split off as
    # punctuation); its id stays in place.
    tokens = [f"[blank line {i}]" if t.isspace() else t
              for i, t in enumerate(tokens)]
    self.vocab_size = len(tokens)
    self.special_ids = python_tokenizer.wordpiece_special_ids(vocab)
    self._normalizer = _normalizer()
    self._wordpiece = tf_text.FastWordpieceTokenizer(
        vocab=tokens, suffix_indicator="##",
        max_bytes_per_word=python_tokenizer.MAX_INPUT_CHARS_PER_WORD,
        token_out_type=tf.int64, unknown_token="[UNK]",
        no_pretokenization=False, support_detokenization=False)
    self._bytes = tf_text.ByteSplitter()
    first, table = self._standalone_overrides(
        python_tokenizer.FullTokenizer(vocab_file, do_lower_case=True))
    self._override_first = tf.constant(first, tf.int32)
    self._overrides = tf.constant(table, tf.int32)

  def _standalone_overrides(self, python):
    """(first code point, table): per BMP code point from `first` on, the id
    the original gives the character, where FastBertNormalizer's NFKC case
    folding changes a character that both tokenizers split off on its own
    (full-width punctuation "，" → ",", "？" → "?", "…" → "..."):
    KEEP where nothing is changed, DROP where the original drops the
    character. A character folded into letters ("™" → "tm") joins its
    neighbours' word and cannot be put right here."""
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    normalized = self._normalizer.normalize(chars).numpy()
    folded = self._wordpiece.tokenize(normalized).to_list()
    overrides = {}
    for char, norm, ids in zip(chars, normalized, folded):
      original = python.convert_tokens_to_ids(python.tokenize(char))
      if original == ids or len(original) > 1:
        continue
      norm = norm.decode("utf-8").strip()
      if not all(_splits_off(c) for c in norm):
        continue  # Glued to its neighbours' word after folding.
      if not (original == [] or _splits_off(char)) or not ids:
        continue
      overrides[ord(char)] = original[0] if original else DROP
    if not overrides:
      return 0, [KEEP]
    first, last = min(overrides), max(overrides)
    return first, [overrides.get(c, KEEP) for c in range(first, last + 1)]

  def tokenize(self, texts):
    normalized, offsets = self._normalizer.normalize_with_offsets(texts)
    ids, starts, _ = self._wordpiece.tokenize_with_offsets(normalized)
    flat_ids = tf.cast(ids.flat_values, tf.int32)
    splits = ids.row_splits
    # Each piece's row, and the original byte where it starts (builtin ops
    # only: no RaggedTensor row ids in TFLite).
    index = tf.range(tf.size(flat_ids, out_type=tf.int64))
    row = tf.reduce_sum(tf.cast(index[:, tf.newaxis] >= splits[tf.newaxis, 1:],
                                tf.int64), axis=1)
    start = tf.gather(offsets.flat_values,
                      tf.gather(offsets.row_splits, row) + starts.flat_values)
    text_bytes = self._bytes.split(texts)
    code_point = _code_point_at(
        tf.cast(text_bytes.flat_values, tf.int32),
        tf.gather(text_bytes.row_splits, row) + start)
    at = code_point - self._override_first
    size = tf.size(self._overrides)
    override = tf.where((at >= 0) & (at < size),
                        tf.gather(self._overrides, tf.clip_by_value(
                            at, 0, size - 1)), KEEP)
    # "…" folds to three "." pieces starting at the same character: the
    # first becomes the original's piece, the others go.
    same_start = tf.concat([[False], (start[1:] == start[:-1]) &
                            (row[1:] == row[:-1])], 0)
    keep = (override != DROP) & ~((override != KEEP) & same_start)
    values = tf.boolean_mask(tf.where(override >= 0, override, flat_ids),
                             keep)
    ends = tf.concat([tf.zeros([1], tf.int64),
                      tf.cumsum(tf.cast(keep, tf.int64))], 0)
    return tf.RaggedTensor.from_row_splits(values, tf.gather(ends, splits),
                                           validate=False)


KEEP, DROP = -1, -2


def _splits_off(char):
  """Whether BERT's basic tokenizer makes `char` a word of its own."""
  return (python_tokenizer.is_punctuation(char) or
          python_tokenizer.is_chinese_char(ord(char)))


def _code_point_at(utf8, positions):
  """The code points of the UTF-8 sequences starting at `positions` of the
  byte values `utf8` (int32), by arithmetic (TFLite has no Unicode ops)."""
  last = tf.size(utf8, out_type=positions.dtype) - 1
  byte = [tf.gather(utf8, tf.minimum(positions + i, last)) for i in range(4)]
  tail = [b - 0x80 for b in byte[1:]]
  return tf.where(
      byte[0] < 0x80, byte[0], tf.where(
          byte[0] < 0xE0, (byte[0] - 0xC0) * 64 + tail[0], tf.where(
              byte[0] < 0xF0,
              (byte[0] - 0xE0) * 4096 + tail[0] * 64 + tail[1],
              (byte[0] - 0xF0) * 262144 + tail[0] * 4096 + tail[1] * 64
              + tail[2])))


def make_tflite_tokenizer(tokenizer_spec):
  """The TFLite tokenizer for an export_utils.TokenizerSpec."""
  if tokenizer_spec.is_sentencepiece:
    return TfliteSentencepieceTokenizer(
        tokenizer_spec.spm_model_file,
        lower_case=tokenizer_spec.do_lower_case)
  return TfliteWordpieceTokenizer(tokenizer_spec.vocab_file,
                                  lower_case=tokenizer_spec.do_lower_case)
