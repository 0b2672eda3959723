"""N-gram / whole-word masked-LM predictions (create_masked_lm_predictions)."""

import dataclasses

# Pieces that always start a word in the SentencePiece vocabulary check.
_SP_SPECIAL = set('!"#$%&"()*+,-./:;?@[\\]^_`{|}~') | {"\u20ac", "\u00a3"}
_ENGLISH = set("abcdefghijklmnopqrstuvwxyz")


def is_start_piece_sentencepiece(piece):
  """The original _is_start_piece_sp: does this piece begin a new word?"""
  return (piece.startswith("\u2581") or piece.startswith("<") or
          piece in _SP_SPECIAL or
          not all(c.lower() in _ENGLISH | _SP_SPECIAL for c in piece))


def is_start_piece_wordpiece(piece):
  """The original _is_start_piece_bert."""
  return not piece.startswith("##")


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
  """The original flags that drive masking."""
  masked_lm_prob: float = 0.15
  max_predictions_per_seq: int = 20
  ngram: int = 3
  do_whole_word_mask: bool = True
  favor_shorter_ngram: bool = True


def ngram_probabilities(max_n, favor_shorter):
  """p(n) ∝ 1/n for n = 1..max_n; reversed when not favoring shorter."""
  weights = [1.0 / n for n in range(1, max_n + 1)]
  if not favor_shorter:
    weights.reverse()
  total = sum(weights)
  return [w / total for w in weights]


def _choose_ngram(rng, probabilities):
  """n in 1..len(probabilities) with those probabilities, from the seeded rng.

  The original drew this with an unseeded np.random.choice; this is the one
  change that makes the output reproducible.
  """
  draw = rng.random()
  for n, p in enumerate(probabilities, start=1):
    draw -= p
    if draw < 0:
      return n
  return len(probabilities)


def apply_masking(tokens, cand_indexes, config, mask_token, random_token,
                  rng):
  """The original's span selection and 80/10/10 replacement.

  `tokens` may be strings or ids; `cand_indexes` lists the token positions
  of each maskable word; `random_token()` draws a replacement from the
  vocabulary. `len(tokens)` is the length the masking budget is taken of.
  Returns (output_tokens, sorted positions, labels).
  """
  output_tokens = list(tokens)
  if config.masked_lm_prob == 0:
    return output_tokens, [], []
  num_to_predict = min(config.max_predictions_per_seq,
                       max(1, int(round(len(tokens) * config.masked_lm_prob))))
  pvals = ngram_probabilities(config.ngram, config.favor_shorter_ngram)
  # For each candidate word: the 1..ngram-word spans starting there.
  ngram_indexes = [[cand_indexes[idx:idx + n]
                    for n in range(1, config.ngram + 1)]
                   for idx in range(len(cand_indexes))]
  rng.shuffle(ngram_indexes)
  masked = []  # (index, original token)
  covered = set()
  for cand_index_set in ngram_indexes:
    if len(masked) >= num_to_predict:
      break
    # As in the original, a span running past the last word is just cut
    # short (so near the end an n of 3 can yield one word).
    n = _choose_ngram(rng, pvals)
    index_set = sum(cand_index_set[n - 1], [])
    n -= 1
    # Try shorter n-grams until the span fits the prediction budget.
    while len(masked) + len(index_set) > num_to_predict:
      if n == 0:
        break
      index_set = sum(cand_index_set[n - 1], [])
      n -= 1
    if len(masked) + len(index_set) > num_to_predict:
      continue
    if any(index in covered for index in index_set):
      continue
    for index in index_set:
      covered.add(index)
      if rng.random() < 0.8:
        replacement = mask_token
      elif rng.random() < 0.5:
        replacement = tokens[index]
      else:
        replacement = random_token()
      output_tokens[index] = replacement
      masked.append((index, tokens[index]))
  masked.sort()
  return output_tokens, [i for i, _ in masked], [t for _, t in masked]


def create_masked_lm_predictions(tokens, config, vocab_words, is_start_piece,
                                 rng):
  """Masks `tokens` like the original; returns (output_tokens, positions,
  labels, token_boundary). Positions are sorted; [CLS]/[SEP] never masked."""
  cand_indexes = []
  token_boundary = [0] * len(tokens)
  for i, token in enumerate(tokens):
    if token in ("[CLS]", "[SEP]"):
      token_boundary[i] = 1
      continue
    if (config.do_whole_word_mask and cand_indexes and
        not is_start_piece(token)):
      cand_indexes[-1].append(i)
    else:
      cand_indexes.append([i])
      if is_start_piece(token):
        token_boundary[i] = 1
  output_tokens, positions, labels = apply_masking(
      tokens, cand_indexes, config, "[MASK]",
      lambda: vocab_words[rng.randint(0, len(vocab_words) - 1)], rng)
  return output_tokens, positions, labels, token_boundary
