"""Token classification (BIO tagging, e.g. NER).

Data: tasks/token_data.py (CoNLL files, or text,entity CSV files whose
columns --text_column / --entity_column name). Model:
tasks/token_classifier_model.py (dropout 0.1 + dense per token; labels on
each word's first piece).

A sentence longer than --max_seq_length pieces is split between words into
parts tagged one after the other, so every word gets a tag.

Writes to output_dir: label_list.txt, eval_predictions.txt, and for
--do_predict test_predictions.txt (CoNLL: word, predicted tag) and
test_spans.tsv (source, text, the extracted spans); the spans are also
printed. The export (--export_dir) takes raw `text` and returns the same
spans in the text's own words: `entities`, `entity_types`, `entity_starts` /
`entity_ends` (code-point offsets, end exclusive), `entity_scores`, at most
--max_entities per text (tasks/token_serving.py), besides `tag_ids` per word
piece (label_list.txt names them) and their `probabilities`.
"""

import dataclasses
import logging
import os

import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.settings import setting
from albert_tf.tasks import base_task
from albert_tf.tasks import input_masking
from albert_tf.tasks import metrics
from albert_tf.tasks import token_data
from albert_tf.tasks import token_serving
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.tasks.finetuning_settings import task_default
from albert_tf.tasks.token_classifier_model import TokenClassifierModel
from albert_tf.tasks.token_classifier_model import token_classification_loss
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.tokenization.python_input_packer import special_ids
from albert_tf.training import distillation_loss

LABEL_LIST_FILE = "label_list.txt"


@dataclasses.dataclass
class TokenClassificationSettings(FinetuningSettings):
  """run_token_classification: the common settings plus the CSV columns."""
  max_seq_length: int = task_default("max_seq_length", 128)
  task_name: str | None = task_default("task_name", "ner")
  entity_type: str = setting(
      "ENT", "Entity type of the tags made from a text,entity CSV (e.g. "
      "DISH).")
  text_column: str = setting(
      "text", "Entity CSVs: the header name of the text column.")
  entity_column: str = setting(
      "entity", "Entity CSVs: the header name of the entity column (several "
      "entities separated by `;`).")
  max_entities: int = setting(
      token_serving.DEFAULT_MAX_ENTITIES, "Export: the entities returned per "
      "text (the first ones in reading order; the outputs are padded to this "
      "many).")
  input_masking_rate: float = setting(
      0.0, "Training: each word piece of the input is replaced by [MASK] "
      "with this probability (the tags stay), so that the tagger learns "
      "from the context and not only from the entities it saw. Off by "
      "default: it helps a 4-layer tagger (the quick start uses 0.15) and "
      "ruins a 12-layer one in the same test (docs/finetuning.md).")

  def check_training(self):
    super().check_training()
    if not 0 <= self.input_masking_rate < 1:
      raise FlagError(f"--input_masking_rate must be in [0, 1), got "
                      f"{self.input_masking_rate}")
    if self.max_entities < 1:
      raise FlagError(f"--max_entities must be positive, got "
                      f"{self.max_entities}")


class TokenClassificationTask(base_task.FinetuningTask):
  """A BIO tag per word, predicted on the word's first piece."""

  settings_class = TokenClassificationSettings
  best_metric = "f1"
  prediction_keys = ("tag_ids",)

  def __init__(self, settings, config, tokenizer):
    super().__init__(settings, config, tokenizer)
    self.packer = Packer(tokenizer, settings.max_seq_length)
    self.label_list = []
    self.label_index = {}
    self._sentences = {}
    self._first_positions = {}

  def check_split_files(self, split):
    token_data.find_data_file(self.settings.data_dir, split)

  def read_split(self, split):
    self.sentences(split)

  def sentences(self, split):
    if split not in self._sentences:
      settings = self.settings
      path = token_data.find_data_file(settings.data_dir, split)
      self._sentences[split] = token_data.read_sentences(
          path, split != base_task.TEST, settings.entity_type,
          settings.text_column, settings.entity_column)
    return self._sentences[split]

  def prepare(self):
    saved = self.output_path(LABEL_LIST_FILE)
    if os.path.exists(saved) and not self.settings.do_train:
      self.label_list = self.saved_label_list(LABEL_LIST_FILE)
    else:
      self.label_list = self.saved_label_list(
          LABEL_LIST_FILE,
          token_data.label_list_from(self.sentences(base_task.TRAIN)))
    self.label_index = {t: i for i, t in enumerate(self.label_list)}

  def _encoded(self, split):
    """The features of every sentence's chunks (a sentence longer than
    max_seq_length is split in several, see token_data.encode); keeps each
    sentence's chunks' first-piece positions for stitching tags back."""
    features, positions, split_sentences = [], [], 0
    for sentence in self.sentences(split):
      chunks = token_data.encode(
          sentence, token_data.word_pieces(self.tokenizer, sentence.words),
          self.packer, self.label_index)
      features += [f for f, _ in chunks]
      positions.append([p for _, p in chunks])
      split_sentences += len(chunks) > 1
    if split_sentences:
      logging.info("%s: %d sentences longer than --max_seq_length=%d are "
                   "tagged in several parts", split, split_sentences,
                   self.settings.max_seq_length)
    self._first_positions[split] = positions
    return features

  def build_inputs(self, split, batch_size, is_training):
    seq = [self.settings.max_seq_length]
    spec = {"input_word_ids": (seq, tf.int32),
            "input_mask": (seq, tf.int32),
            "input_type_ids": (seq, tf.int32),
            "label_ids": (seq, tf.int32)}
    dataset, _ = self.record_inputs(split, lambda: self._encoded(split), spec,
                                    batch_size, is_training)
    return dataset

  def build_model(self):
    # Masking acts in training only: a model built to evaluate, predict
    # or export has none (nor needs a [MASK] piece).
    masking, rate = None, self.settings.input_masking_rate
    if rate and self.settings.do_train:
      ids = special_ids(self.tokenizer)
      if ids["mask_id"] < 0:
        raise FlagError("--input_masking_rate needs a [MASK] piece in the "
                        "vocabulary; this one has none (set "
                        "--input_masking_rate=0)")
      masking = input_masking.InputMasking(
          rate, ids["mask_id"], keep_ids=(ids["cls_id"], ids["sep_id"]),
          name="input_masking")
    return TokenClassifierModel(self.build_encoder(), len(self.label_list),
                                input_masking=masking)

  def build_losses(self, labels, outputs):
    return token_classification_loss(labels, outputs)

  def distillation_losses(self, labels, outputs, teacher_outputs,
                          temperature):
    # Per word (its first piece), averaged over the labelled pieces as the
    # gold loss: [CLS], [SEP], padding and later pieces (-1) add nothing.
    per_piece = distillation_loss.soft_cross_entropy(
        teacher_outputs["logits"], outputs["logits"], temperature)
    return distillation_loss.masked_mean(per_piece, labels["label_ids"] >= 0)

  def aggregate(self, split, outputs):
    chunk_tag_ids = iter(outputs["tag_ids"])
    predicted = []
    for chunks in self._first_positions[split]:
      tags = []
      for positions in chunks:
        tags += token_data.word_tags(next(chunk_tag_ids), positions,
                                     self.label_list)
      predicted.append(tags)
    scores = None
    if self.has_gold(split):
      scores = metrics.span_scores([s.tags for s in self.sentences(split)],
                                   predicted)
      scores = {k: scores[k] for k in ("precision", "recall", "f1")}
    return scores, predicted

  def _write_conll(self, name, sentences, predicted):
    blocks = []
    for sentence, tags in zip(sentences, predicted):
      gold = sentence.tags or [None] * len(tags)
      blocks.append("\n".join(
          "\t".join([w] + ([g] if g is not None else []) + [t])
          for w, g, t in zip(sentence.words, gold, tags)))
    self.write_lines(name, ["\n\n".join(blocks)])

  def spans(self, split, predicted):
    """[(sentence, [(type, span text)])] of a split's predicted tags."""
    return [(sentence, [(t, sentence.span_text(first, last))
                        for t, first, last in metrics.get_entities(tags)])
            for sentence, tags in zip(self.sentences(split), predicted)]

  def write_predictions(self, split, predictions):
    sentences = self.sentences(split)
    if split == self.eval_split:
      self._write_conll("eval_predictions.txt", sentences, predictions)
      return []
    self._write_conll("test_predictions.txt", sentences, predictions)
    lines, printed = ["source\ttext\tspans"], []
    for sentence, spans in self.spans(split, predictions):
      text = sentence.text if sentence.text is not None else " ".join(
          sentence.words)
      lines.append(f"{sentence.source}\t{text}\t"
                   + " | ".join(f"{t}: {s}" for t, s in spans))
      printed.append(f"{text}\t=> " + (
          " | ".join(f"[{t}] {s}" for t, s in spans) or "(no spans)"))
    self.write_lines("test_spans.tsv", lines)
    return printed

  def serving_outputs(self):
    return ("tag_ids", "probabilities")

  def serving_options(self):
    return {"text_tagging": token_serving.EntityExtraction(
        self.label_list, self.settings.max_entities)}
