"""Fine-tunes ALBERT for token classification (BIO tagging, e.g. NER).

  python -m albert_tf.run_token_classification --data_dir=dishes \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/dishes \
      --entity_type=DISH --do_train --do_eval --do_predict \
      --max_seq_length=128 --train_step=2000 --warmup_step=200 \
      --learning_rate=3e-5 --train_batch_size=32

data_dir holds train/dev/test as CoNLL files (.txt or .conll: `token
[columns] tag` lines, blank lines between sentences) or as "text,entity" CSV
files (.csv; the entity is located in the text). See
albert_tf/tasks/token_data.py for the formats.

Writes to output_dir: label_list.txt, checkpoints, best/ (best span F1 on
dev), eval_results.txt (span precision/recall/F1, seqeval style),
eval_predictions.txt, and for --do_predict test_predictions.txt (CoNLL:
word, predicted tag) and test_spans.tsv (source, the extracted spans); the
spans are also printed. --export_dir writes a TF Serving model whose
serving_default takes raw text and returns `tag_ids` per word piece
(label_list.txt names them) and their `probabilities`.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import os

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from albert_tf.tasks import metrics
from albert_tf.tasks import feature_cache
from albert_tf.tasks import runner
from albert_tf.tasks import token_data
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.cli.finetuning_flags import define_common_flags
from albert_tf.cli.finetuning_flags import flag_namespace
from albert_tf.tasks.token_classifier_model import TokenClassifierModel
from albert_tf.tasks.token_classifier_model import token_classification_loss
from albert_tf.training.finetuning_trainer import Trainer
from albert_tf.training.finetuning_trainer import TrainingSettings
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.modeling import AlbertEncoder

LABEL_LIST_FILE = "label_list.txt"
TASK_DEFAULTS = dict(max_seq_length=128, learning_rate=5e-5, train_step=1000,
                     train_batch_size=32, task_name="ner")


def define_flags():
  define_common_flags(**TASK_DEFAULTS)
  flags.DEFINE_string("entity_type", "ENT", "Entity type of the tags made "
                      "from a text,entity CSV (e.g. DISH).")


def defaults(**values):
  return flag_namespace(**{**TASK_DEFAULTS, "entity_type": "ENT", **values})


class TokenClassificationRun:
  """One run_token_classification invocation."""

  def __init__(self, values):
    runner.check_common_flags(values)
    self.values = values
    self.config = runner.load_config(values)
    self.tokenizer = runner.make_tokenizer(values)
    runner.check_vocab_fits(self.tokenizer, self.config)
    self.packer = Packer(self.tokenizer, values.max_seq_length)
    os.makedirs(values.output_dir, exist_ok=True)
    self.label_list = self._label_list()
    self.label_index = {t: i for i, t in enumerate(self.label_list)}
    seq = [values.max_seq_length]
    self.spec = {"input_word_ids": (seq, tf.int32),
                 "input_mask": (seq, tf.int32),
                 "input_type_ids": (seq, tf.int32),
                 "label_ids": (seq, tf.int32)}
    runner.set_seed(values.seed)
    config, num_labels = self.config, len(self.label_list)
    self.trainer = Trainer(
        runner.strategy_from_flags(values),
        lambda: TokenClassifierModel(AlbertEncoder(config), num_labels),
        token_classification_loss, TrainingSettings.from_flags(values))
    self._splits = {}

  def _read(self, split, require_tags):
    path = token_data.find_data_file(self.values.data_dir, split)
    return path, token_data.read_sentences(path, require_tags,
                                           self.values.entity_type)

  def _label_list(self):
    saved = os.path.join(self.values.output_dir, LABEL_LIST_FILE)
    if os.path.exists(saved) and not self.values.do_train:
      with open(saved, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]
    _, sentences = self._read("train", require_tags=True)
    labels = token_data.label_list_from(sentences)
    write_text_atomically(saved, "".join(f"{t}\n" for t in labels))
    return labels

  def _split(self, split):
    """(sentences, first-piece positions, records path) of a split."""
    if split in self._splits:
      return self._splits[split]
    path, sentences = self._read(split, require_tags=split != "test")
    encoded = [token_data.encode(
        s, token_data.word_pieces(self.tokenizer, s.words), self.packer,
        self.label_index) for s in sentences]
    record_path = os.path.join(self.values.output_dir, f"{split}.tf_record")
    feature_cache.write_records(record_path, (f for f, _ in encoded), self.spec)
    self._splits[split] = (sentences, [p for _, p in encoded], record_path)
    return self._splits[split]

  def _dataset(self, path, batch_size, is_training):
    return feature_cache.records_dataset(path, self.spec, batch_size, is_training,
                                   label_keys=("label_ids",),
                                   seed=self.values.seed)

  def _predict_tags(self, split, batch_size):
    sentences, positions, path = self._split(split)
    outputs = self.trainer.predict(self._dataset(path, batch_size, False),
                                   output_keys=("tag_ids",))
    predicted = [token_data.word_tags(ids, p, self.label_list)
                 for ids, p in zip(outputs["tag_ids"], positions)]
    return sentences, predicted

  def evaluate(self, write_predictions=False):
    sentences, predicted = self._predict_tags("dev",
                                              self.values.eval_batch_size)
    scores = metrics.span_scores([s.tags for s in sentences], predicted)
    if write_predictions:
      self._write_conll("eval_predictions.txt", sentences, predicted)
    return {k: scores[k] for k in ("precision", "recall", "f1")}

  def _write_conll(self, name, sentences, predicted):
    blocks = []
    for sentence, tags in zip(sentences, predicted):
      gold = sentence.tags or [None] * len(tags)
      blocks.append("\n".join(
          "\t".join([w] + ([g] if g is not None else []) + [t])
          for w, g, t in zip(sentence.words, gold, tags)))
    write_text_atomically(os.path.join(self.values.output_dir, name),
                          "\n\n".join(blocks) + "\n")

  def train(self):
    logging.info(self.trainer.restore_or_initialize(
        runner.make_init_fn(self.values.init_checkpoint)))
    _, _, path = self._split("train")
    evaluate_fn = self.evaluate if self.values.do_eval else None
    return self.trainer.train(
        self._dataset(path, self.values.train_batch_size, True), evaluate_fn,
        "f1")

  def predict(self):
    """Writes test predictions; returns [(sentence, [(type, span text)])]."""
    sentences, predicted = self._predict_tags("test",
                                              self.values.predict_batch_size)
    self._write_conll("test_predictions.txt", sentences, predicted)
    results, lines = [], ["source\ttext\tspans"]
    for sentence, tags in zip(sentences, predicted):
      spans = [(t, sentence.span_text(first, last))
               for t, first, last in metrics.get_entities(tags)]
      results.append((sentence, spans))
      text = sentence.text if sentence.text is not None else " ".join(
          sentence.words)
      lines.append(f"{sentence.source}\t{text}\t"
                   + " | ".join(f"{t}: {s}" for t, s in spans))
    write_text_atomically(os.path.join(self.values.output_dir,
                                       "test_spans.tsv"),
                          "\n".join(lines) + "\n")
    return results

  def export(self):
    return runner.export_serving(self.trainer.model,
                                 ("tag_ids", "probabilities"), self.values)


def run(values):
  job = TokenClassificationRun(values)
  if values.do_train:
    job.train()
  if values.do_eval or values.do_predict or values.export_dir:
    logging.info("using %s", job.trainer.load_for_inference())
  if values.do_eval:
    results = job.evaluate(write_predictions=True)
    runner.write_eval_results(
        os.path.join(values.output_dir, "eval_results.txt"), results)
    for key, value in sorted(results.items()):
      print(f"eval {key} = {value:.6f}")
  if values.do_predict:
    for sentence, spans in job.predict():
      text = sentence.text if sentence.text is not None else " ".join(
          sentence.words)
      print(f"{text}\t=> " + (" | ".join(f"[{t}] {s}" for t, s in spans)
                              or "(no spans)"))
  if values.export_dir:
    print(f"exported {job.export()}")
  return job


def main(argv):
  del argv
  return runner.run_main(lambda values: run(values) and 0, flags.FLAGS)


if __name__ == "__main__":
  define_flags()
  app.run(main)
