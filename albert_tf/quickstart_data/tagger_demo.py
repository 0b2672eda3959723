"""Tags dishes in raw reviews with the quick start's exported tagger.

  python tagger_demo.py <tagger_serving_dir> <label_list.txt> \
      <preprocessor_dir> "a review" ["another review" ...]

Imports only tensorflow and tensorflow_text, as a serving machine would.
The tagger's serving_default takes text and returns a tag id per word piece
([CLS] first); label_list.txt names the ids. A word's tag is the tag of its
first piece, as in training; B-DISH starts a dish and I-DISH continues it.

Training split each review into words (runs of letters and digits, or
single punctuation marks) and tokenized every word on its own. The review
is split the same way here and sent with a space between words:
SentencePiece never joins pieces across spaces, so the tagger sees the
pieces training saw, and the preprocessor export (same vocabulary), asked
for the pieces of each word, says where every word starts.
"""

import argparse
import os
import re

# TensorFlow's C++ start-up messages ("failed call to cuInit" on a machine
# without a GPU, oneDNN notices) say nothing a user of this demo can act on.
# They stay off, as with albert_tf's tools, unless --verbosity=0 (INFO) or
# higher is given or TF_CPP_MIN_LOG_LEVEL is set. Level 3: some of them are
# logged as errors. Read before TensorFlow is imported, which is when it
# decides.
_VERBOSITY = argparse.ArgumentParser(add_help=False)
_VERBOSITY.add_argument("--verbosity", "-v", type=int, default=-1)
if _VERBOSITY.parse_known_args()[0].verbosity < 0:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # pylint: disable=wrong-import-position
import tensorflow_text  # pylint: disable=unused-import  # the tokenizer's ops

WORD = re.compile(r"\w+|[^\w\s]")


def newest_version(base_dir):
  versions = [name for name in os.listdir(base_dir) if name.isdigit()]
  if not versions:
    raise SystemExit(f"no model version under {base_dir}")
  return os.path.join(base_dir, max(versions, key=int))


def spans(words, tags):
  """The tagged spans of a review: [(entity type, text)]."""
  found, current = [], None
  for word, tag in zip(words, tags):
    if tag.startswith("B-") or (tag.startswith("I-") and current is None):
      current = (tag[2:], [word])
      found.append(current)
    elif tag.startswith("I-"):
      current[1].append(word)
    else:
      current = None
  return [(kind, " ".join(span)) for kind, span in found]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("tagger_dir")
  parser.add_argument("label_list")
  parser.add_argument("preprocessor_dir")
  parser.add_argument("reviews", nargs="+")
  parser.add_argument(
      "--verbosity", "-v", type=int, default=-1,
      help="0 (INFO) or more shows TensorFlow's start-up messages")
  args = parser.parse_args()
  with open(args.label_list, encoding="utf-8") as f:
    labels = [line.strip() for line in f if line.strip()]
  serving_dir = newest_version(args.tagger_dir)
  tagger = tf.saved_model.load(serving_dir).signatures["serving_default"]
  preprocessor = tf.saved_model.load(args.preprocessor_dir)
  print(f"tagger {serving_dir} (serving_default):")
  for review in args.reviews:
    words = WORD.findall(review)
    outputs = tagger(text_a=tf.constant([" ".join(words)]),
                     text_b=tf.constant([""]))
    tag_ids = outputs["tag_ids"][0].numpy()
    counts = preprocessor.tokenize(tf.constant(words)).row_lengths().numpy()
    tags, position = [], 1  # Position 0 is [CLS].
    for count in counts:
      inside = count and position < len(tag_ids) - 1
      tags.append(labels[tag_ids[position]] if inside else "O")
      position += count
    found = spans(words, tags)
    print(f"  {review}\n    => " +
          (" | ".join(f"[{kind}] {span}" for kind, span in found)
           or "(nothing tagged)"))


if __name__ == "__main__":
  main()
