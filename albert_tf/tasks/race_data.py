"""RACE-style multiple choice data.

data_dir/<split>/ holds JSON files (RACE's *.txt, or *.json), searched
recursively (RACE has train/middle, train/high, ...). Each file:

  {"id": "high123.txt", "article": "...",
   "questions": ["q1", ...], "options": [["o1", "o2", "o3", "o4"], ...],
   "answers": ["B", ...]}

Each question becomes one example; for every option the second segment is
the question with "_" replaced by the option when the question has a blank,
else question + " " + option (as the original run_race). Test files may
omit "answers".
"""

import dataclasses
import glob
import os

import numpy as np

from albert_tf.tokenization.python_input_packer import truncate_seq_pair
from albert_tf.tasks.input_files import InputFormatError
from albert_tf.tasks.input_files import read_json


@dataclasses.dataclass
class RaceExample:
  guid: str
  article: str
  question: str
  options: list
  label: object = None  # int index of the answer, or None.
  source: str = ""


def split_files(data_dir, split):
  directory = os.path.join(data_dir, split)
  if not os.path.isdir(directory):
    raise InputFormatError(directory, f"{split} directory not found")
  files = sorted(p for pattern in ("*.txt", "*.json")
                 for p in glob.glob(os.path.join(directory, "**", pattern),
                                    recursive=True))
  if not files:
    raise InputFormatError(directory, "no *.txt or *.json files")
  return files


def _require(path, data, key, kind):
  if key not in data:
    raise InputFormatError(path, f"missing key {key!r}")
  if not isinstance(data[key], kind):
    raise InputFormatError(path, f"{key!r} must be a {kind.__name__}, got "
                           f"{type(data[key]).__name__}")
  return data[key]


def read_file(path, num_choices, require_answers):
  data = read_json(path)
  if not isinstance(data, dict):
    raise InputFormatError(path, "expected a JSON object with article, "
                           "questions, options, answers")
  article = _require(path, data, "article", str)
  questions = _require(path, data, "questions", list)
  options = _require(path, data, "options", list)
  answers = data.get("answers")
  if answers is None and require_answers:
    raise InputFormatError(path, "missing key 'answers'")
  if len(options) != len(questions) or (
      answers is not None and len(answers) != len(questions)):
    raise InputFormatError(
        path, f"{len(questions)} questions but {len(options)} option lists"
        + (f" and {len(answers)} answers" if answers is not None else ""))
  letters = [chr(ord("A") + i) for i in range(num_choices)]
  file_id = data.get("id", os.path.basename(path))
  examples = []
  for n, (question, choices) in enumerate(zip(questions, options)):
    where = f"question {n}"
    if not isinstance(choices, list) or len(choices) != num_choices:
      raise InputFormatError(path, f"{where}: expected {num_choices} options, "
                             f"got {choices!r}")
    label = None
    if answers is not None:
      if answers[n] not in letters:
        raise InputFormatError(
            path, f"{where}: answer {answers[n]!r} is not one of "
            f"{', '.join(letters)}")
      label = letters.index(answers[n])
    examples.append(RaceExample(f"{file_id}-{n}", article, str(question),
                                [str(c) for c in choices], label,
                                f"{path} ({where})"))
  return examples


def read_split(data_dir, split, num_choices=4, require_answers=True):
  examples = []
  for path in split_files(data_dir, split):
    examples += read_file(path, num_choices, require_answers)
  return examples


def question_with_option(question, option):
  if "_" in question:
    return question.replace("_", option)
  return f"{question} {option}"


def encode(example, packer, max_qa_length):
  """[num_choices, S] features: [CLS] article [SEP] question+option [SEP]."""
  article_ids = packer.ids(example.article)
  rows = []
  for option in example.options:
    qa_ids = packer.ids(question_with_option(example.question, option))
    qa_ids = qa_ids[-max_qa_length:]  # The option is at the end: keep it.
    context = list(article_ids)
    truncate_seq_pair(context, qa_ids, packer.max_seq_length - 3)
    rows.append(packer.pack_ids(context, qa_ids))
  feature = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
  feature["label_ids"] = example.label if example.label is not None else 0
  return feature
