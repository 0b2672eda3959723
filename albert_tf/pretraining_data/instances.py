"""Training instances from documents (create_instances_from_document)."""

import dataclasses

from albert_tf.pretraining_data.masking import create_masked_lm_predictions


@dataclasses.dataclass
class TrainingInstance:
  """One example before id conversion, as in the original."""
  tokens: list
  segment_ids: list
  is_random_next: bool  # The SOP/NSP label (1 = swapped or random).
  token_boundary: list
  masked_lm_positions: list
  masked_lm_labels: list
  # Not in the original; recorded so statistics can be checked.
  b_from_other_document: bool = False
  target_seq_length: int = 0


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
  """Trims the longer segment from a random end until the pair fits."""
  while len(tokens_a) + len(tokens_b) > max_num_tokens:
    trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
    if rng.random() < 0.5:
      del trunc_tokens[0]
    else:
      trunc_tokens.pop()


def create_instances_from_document(document, random_documents, max_seq_length,
                                   short_seq_prob, random_next_sentence,
                                   masking_config, vocab_words, is_start_piece,
                                   rng):
  """The original algorithm for one document (a list of token lists).

  `random_documents` is where "random document" segments come from: the
  original drew from every document in memory; here it is a bounded pool of
  other documents of the same shard (empty: the document itself, as the
  original falls back to when it finds no other).
  """
  max_num_tokens = max_seq_length - 3
  target_seq_length = max_num_tokens
  if rng.random() < short_seq_prob:
    target_seq_length = rng.randint(2, max_num_tokens)
  instances = []
  current_chunk = []
  current_length = 0
  i = 0
  while i < len(document):
    segment = document[i]
    current_chunk.append(segment)
    current_length += len(segment)
    if i == len(document) - 1 or current_length >= target_seq_length:
      if current_chunk:
        a_end = 1
        if len(current_chunk) >= 2:
          a_end = rng.randint(1, len(current_chunk) - 1)
        tokens_a = [t for seg in current_chunk[:a_end] for t in seg]
        tokens_b = []
        from_other_document = False
        if len(current_chunk) == 1 or (random_next_sentence and
                                       rng.random() < 0.5):
          is_random_next = True
          from_other_document = True
          target_b_length = target_seq_length - len(tokens_a)
          if random_documents:
            other = random_documents[rng.randint(0, len(random_documents) - 1)]
          else:
            other = document
          random_start = rng.randint(0, len(other) - 1)
          for j in range(random_start, len(other)):
            tokens_b.extend(other[j])
            if len(tokens_b) >= target_b_length:
              break
          # The segments not used go back into the stream.
          i -= len(current_chunk) - a_end
        elif not random_next_sentence and rng.random() < 0.5:
          is_random_next = True
          tokens_b = [t for seg in current_chunk[a_end:] for t in seg]
          tokens_a, tokens_b = tokens_b, tokens_a  # Sentence order swapped.
        else:
          is_random_next = False
          tokens_b = [t for seg in current_chunk[a_end:] for t in seg]
        truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
        if tokens_a and tokens_b:
          tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
          segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
          tokens, positions, labels, boundary = create_masked_lm_predictions(
              tokens, masking_config, vocab_words, is_start_piece, rng)
          instances.append(TrainingInstance(
              tokens=tokens, segment_ids=segment_ids,
              is_random_next=is_random_next, token_boundary=boundary,
              masked_lm_positions=positions, masked_lm_labels=labels,
              b_from_other_document=from_other_document,
              target_seq_length=target_seq_length))
      current_chunk = []
      current_length = 0
    i += 1
  return instances
