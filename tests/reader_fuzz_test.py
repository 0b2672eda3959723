"""Random bytes (and random JSON) into every input reader: the only exceptions
that come out are UserError subclasses, so a bad file gives one `error:`
line, never a traceback. Derandomized, with a bounded number of examples."""

import json
import os
import tempfile

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from albert_tf.config import AlbertConfig
from albert_tf.errors import UserError
from albert_tf.pretraining_data import documents
from albert_tf.tasks import classifier_data
from albert_tf.tasks import input_files
from albert_tf.tasks import token_data
from albert_tf.tasks.squad import examples as squad_examples

FUZZ = settings(max_examples=40, derandomize=True, deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

# Bytes that look like the formats (separators, quotes, brackets, tags, bad
# UTF-8) more often than uniform bytes would.
_PIECES = [b"\t", b",", b'"', b"\n", b"\r\n", b" ", b"\n\n", b"label",
           b"text", b"text_a", b"text_b", b"entity", b"B-PER", b"I-LOC", b"O",
           b"-DOCSTART-", b"0", b"1", b"entailment", b"{", b"}", b"[", b"]",
           b":", b"\xff", b"\xc3", b"\xe4\xb8\xad", b"\x00", b"1e999",
           b"\"data\"", b"null"]
FILE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=4)),
             max_size=40).map(b"".join))
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                          st.floats(allow_nan=True), st.text(max_size=8))


def _json_values(keys):
  return st.recursive(
      _JSON_SCALARS,
      lambda children: st.one_of(
          st.lists(children, max_size=3),
          st.dictionaries(st.sampled_from(keys), children, max_size=4)),
      max_leaves=12)


_SQUAD_KEYS = ["data", "paragraphs", "context", "qas", "id", "question",
               "answers", "text", "answer_start", "is_impossible"]
_CONFIG_KEYS = ["vocab_size", "embedding_size", "hidden_size",
                "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "num_hidden_groups", "inner_group_num",
                "hidden_act", "ln_type", "initializer_range",
                "hidden_dropout_prob", "num_hidden_layer", "pooler_type"]
SQUAD_JSON = _json_values(_SQUAD_KEYS).map(
    lambda v: json.dumps({"data": v} if not isinstance(v, dict) else v,
                         allow_nan=True).encode("utf-8"))
CONFIG_JSON = st.dictionaries(
    st.sampled_from(_CONFIG_KEYS),
    st.one_of(_JSON_SCALARS, st.integers(1, 8), st.sampled_from(
        ["gelu", "relu", "postln", "preln"])), max_size=10).map(
            lambda d: json.dumps(d, allow_nan=True).encode("utf-8"))


def only_user_errors(read, data, filename):
  """Writes `data` to a fresh file, calls read(path); UserError is fine."""
  with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, filename)
    with open(path, "wb") as f:
      f.write(data)
    try:
      result = read(path)
      if hasattr(result, "__next__"):
        list(result)
    except UserError:
      pass


@FUZZ
@given(st.one_of(FILE_BYTES, CONFIG_JSON))
def test_config_files(data):
  only_user_errors(AlbertConfig.from_json_file, data, "albert_config.json")


@FUZZ
@given(FILE_BYTES)
def test_tsv_csv_json_readers(data):
  for read in (input_files.read_tsv, input_files.read_csv,
               input_files.read_json):
    only_user_errors(read, data, "data.txt")


def _task_reader(task, filename, split):
  def read(path):
    directory = os.path.dirname(path)
    os.replace(path, os.path.join(directory, filename))
    return task.read(directory, split)
  return read


@FUZZ
@given(FILE_BYTES)
def test_classifier_files(data):
  for name in ("cola", "sts-b", "mnli", "csv", "tsv"):
    task = classifier_data.get_task(name)
    for split in (classifier_data.TRAIN, classifier_data.TEST):
      filename = os.path.basename(task.file_for("", split))
      only_user_errors(_task_reader(task, filename, split), data, "raw")
  labelled = classifier_data.get_task("csv", labels=["0", "1"])
  only_user_errors(_task_reader(labelled, "train.csv", "train"), data, "raw")


@FUZZ
@given(FILE_BYTES)
def test_token_classification_files(data):
  for require_tags in (True, False):
    only_user_errors(lambda p: token_data.read_conll(p, require_tags), data,
                     "train.conll")
    only_user_errors(
        lambda p: token_data.read_entity_csv(p, require_tags, "ENT"), data,
        "train.csv")


@FUZZ
@given(st.one_of(FILE_BYTES, SQUAD_JSON))
def test_squad_files(data):
  for is_training in (True, False):
    for v2 in (True, False):
      only_user_errors(
          lambda p: squad_examples.read_squad_examples(p, is_training, v2),
          data, "train.json")


@FUZZ
@given(FILE_BYTES)
def test_pretraining_corpus_files(data):
  only_user_errors(lambda p: documents.iter_documents([p]), data,
                   "corpus.txt")
