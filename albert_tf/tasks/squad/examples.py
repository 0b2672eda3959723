"""Reading SQuAD v1.1 / v2.0 JSON into SquadExample objects.

As in the original squad_utils.read_squad_examples: one example per question,
the paragraph kept as raw text (characters are aligned to SentencePiece
pieces later, in features.py), and for training the first answer's text and
character offset. v2.0 questions may be `is_impossible` (no answer).

Unlike the original, which would crash with a KeyError or train on a wrong
span, malformed input is reported as SquadDataError naming the file and the
question: invalid JSON (with line and column), a missing field, a training
question without exactly one answer, or an answer that is not in its context.
Question ids must be unique (predictions and scores are keyed by id: the
original's dicts silently keep one of two questions with the same id) and
questions must have text.
"""

import dataclasses
import logging
from typing import List, Optional

import tensorflow as tf

from albert_tf import errors
from albert_tf.files.json_files import read_json


class SquadDataError(errors.InputFileError):
  """A SQuAD JSON file is missing, malformed or inconsistent."""


@dataclasses.dataclass
class SquadExample:
  """One question about one paragraph.

  For training, `start_position` is the character offset of the answer in
  `paragraph_text` (-1 for impossible questions, whose answer text is "");
  for prediction it is None.
  """
  qas_id: str
  question_text: str
  paragraph_text: str
  orig_answer_text: Optional[str] = None
  start_position: Optional[int] = None
  is_impossible: bool = False


def _read_bytes(path):
  with tf.io.gfile.GFile(path, "rb") as reader:
    return reader.read()


def load_squad_json(input_file):
  """The "data" list of a SQuAD file, with clear errors for bad files."""
  try:
    parsed = read_json(input_file, "SQuAD JSON", SquadDataError,
                       read_bytes=_read_bytes)
  except tf.errors.OpError as e:
    raise SquadDataError(f"cannot read SQuAD file {input_file}: "
                         f"{e.message}") from e
  if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
    raise SquadDataError(
        f"{input_file}: expected a JSON object with a \"data\" list "
        "(the SQuAD v1.1/v2.0 layout)")
  return parsed["data"]


def _field(obj, key, kind, input_file, where):
  if not isinstance(obj, dict) or key not in obj:
    raise SquadDataError(f"{input_file}: {where}: missing field \"{key}\"")
  value = obj[key]
  if not isinstance(value, kind):
    raise SquadDataError(
        f"{input_file}: {where}: field \"{key}\" should be "
        f"{kind.__name__ if isinstance(kind, type) else kind}, "
        f"got {type(value).__name__}")
  return value


def locate_answer(context, answer_text, answer_start):
  """The character offset of answer_text in context, or None.

  The given offset is used when the text is there; otherwise the occurrence
  nearest to it (a few hand-made datasets count offsets differently).
  """
  if not answer_text:
    return None
  if (isinstance(answer_start, int) and
      context[answer_start:answer_start + len(answer_text)] == answer_text):
    return answer_start
  occurrences = []
  position = context.find(answer_text)
  while position >= 0:
    occurrences.append(position)
    position = context.find(answer_text, position + 1)
  if not occurrences:
    return None
  target = answer_start if isinstance(answer_start, int) else 0
  return min(occurrences, key=lambda p: abs(p - target))


def read_squad_examples(input_file, is_training,
                        version_2_with_negative=True) -> List[SquadExample]:
  """Reads a SQuAD v1.1/v2.0 JSON file into a list of SquadExample.

  Args:
    input_file: path (anything tf.io.gfile opens).
    is_training: read answers (exactly one per answerable question, as the
      original requires) and check that each lies in its context.
    version_2_with_negative: honour `is_impossible`; with False a v2.0 file's
      impossible questions are an error in training (v1 has no null answer).

  Raises:
    SquadDataError: naming the file and question for any malformed input.
  """
  data = load_squad_json(input_file)
  examples = []
  first_seen = {}  # question id → where it first appeared.
  relocated = 0
  for article_index, article in enumerate(data):
    where = f"data[{article_index}]"
    paragraphs = _field(article, "paragraphs", list, input_file, where)
    for paragraph_index, paragraph in enumerate(paragraphs):
      where = f"data[{article_index}].paragraphs[{paragraph_index}]"
      context = _field(paragraph, "context", str, input_file, where)
      for qa_index, qa in enumerate(
          _field(paragraph, "qas", list, input_file, where)):
        qa_where = f"{where}.qas[{qa_index}]"
        qas_id = qa.get("id") if isinstance(qa, dict) else None
        if not isinstance(qas_id, (str, int)):
          raise SquadDataError(
              f"{input_file}: {qa_where}: missing field \"id\"")
        qas_id = str(qas_id)
        if qas_id in first_seen:
          raise SquadDataError(
              f"{input_file}: question id {qas_id!r} appears twice "
              f"({first_seen[qas_id]} and {qa_where}); question ids must be "
              "unique, or the predictions and scores of one of them are lost")
        first_seen[qas_id] = qa_where
        qa_where = f"question {qas_id!r} ({qa_where})"
        question = _field(qa, "question", str, input_file, qa_where)
        if not question.strip():
          raise SquadDataError(
              f"{input_file}: {qa_where}: the question is empty; expected "
              "its text")
        example = SquadExample(qas_id=qas_id, question_text=question,
                               paragraph_text=context)
        if is_training:
          is_impossible = bool(qa.get("is_impossible", False))
          if is_impossible and not version_2_with_negative:
            raise SquadDataError(
                f"{input_file}: {qa_where} is_impossible, but SQuAD v1.1 has "
                "no null answer (use --version_2_with_negative)")
          if is_impossible:
            example.is_impossible = True
            example.start_position = -1
            example.orig_answer_text = ""
          else:
            answers = _field(qa, "answers", list, input_file, qa_where)
            if len(answers) != 1:
              raise SquadDataError(
                  f"{input_file}: {qa_where}: for training, each question "
                  f"should have exactly 1 answer, found {len(answers)}")
            text = _field(answers[0], "text", str, input_file, qa_where)
            start = answers[0].get("answer_start")
            position = locate_answer(context, text, start)
            if position is None:
              raise SquadDataError(
                  f"{input_file}: {qa_where}: answer {text!r} not found in "
                  "its context")
            relocated += position != start
            example.orig_answer_text = text
            example.start_position = position
        examples.append(example)
  if relocated:
    logging.warning("%s: %d answers were not at their answer_start; used "
                    "the nearest occurrence in the context", input_file,
                    relocated)
  return examples
