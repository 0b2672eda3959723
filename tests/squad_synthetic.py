"""A small learnable SQuAD-format dataset: the answer follows a marker word.

Every context is filler words from one list; an answerable one holds
"key <Answer>" somewhere (answers from another list, capitalized in the text
so mapping back to the raw paragraph is tested, sometimes followed by a
comma). For v2.0 about a third of the contexts have no marker and their
question is impossible. Files are written in the real SQuAD JSON layout.
"""

import json
import random

FILLER = ["the", "and", "for", "that", "are", "with", "file", "object",
          "class", "string", "can", "from", "not", "this", "function",
          "used", "list", "argument", "value", "all", "module", "type",
          "return", "name", "which", "default", "line", "set", "use"]
ANSWERS = ["socket", "frame", "server", "stream", "package", "buffer",
           "thread", "pointer", "record", "window", "parser", "python",
           "token", "matrix", "signal", "kernel"]
MARKER = "key"
QUESTION = "what comes after the key?"


def make_dataset(num_questions, seed, version_2=False, min_words=12,
                 max_words=30, answers_per_question=1):
  """The "data" list of a SQuAD file with num_questions questions."""
  rng = random.Random(seed)
  paragraphs = []
  for i in range(num_questions):
    words = [rng.choice(FILLER)
             for _ in range(rng.randint(min_words, max_words))]
    impossible = version_2 and rng.random() < 1 / 3
    qa = {"id": f"q{seed}-{i}", "question": QUESTION, "answers": []}
    if impossible:
      qa["is_impossible"] = True
      context = " ".join(words) + "."
    else:
      answer = rng.choice(ANSWERS).capitalize()
      position = rng.randint(0, len(words))
      comma = "," if rng.random() < 0.3 else ""
      before = " ".join(words[:position] + [MARKER])
      after = " ".join(words[position:])
      context = f"{before} {answer}{comma} {after}".strip() + "."
      context = context[0].upper() + context[1:]
      start = len(before) + 1
      qa["answers"] = [{"text": answer, "answer_start": start}
                       ] * answers_per_question
      if version_2:
        qa["is_impossible"] = False
    paragraphs.append({"context": context, "qas": [qa]})
  return [{"title": f"synthetic-{seed}", "paragraphs": paragraphs}]


def write_squad_file(path, data, version="1.1"):
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"version": version, "data": data}, f)
  return str(path)
