"""Tags dishes in raw reviews with the quick start's exported tagger.

  python tagger_demo.py <tagger_serving_dir> "a review" ["another review" ...]

Imports only tensorflow and tensorflow_text, as a serving machine would.
The tagger's serving_default takes the raw `text` and answers in its words:
`entities` (each dish exactly as the review writes it), `entity_types`,
`entity_starts` / `entity_ends` (character offsets into the review, end
exclusive) and `entity_scores`, padded with "" up to the export's maximum
count; `num_entities` says how many the review has.
"""

import argparse
import os

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


def newest_version(base_dir):
  versions = [name for name in os.listdir(base_dir) if name.isdigit()]
  if not versions:
    raise SystemExit(f"no model version under {base_dir}")
  return os.path.join(base_dir, max(versions, key=int))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("tagger_dir")
  parser.add_argument("reviews", nargs="+")
  parser.add_argument(
      "--verbosity", "-v", type=int, default=-1,
      help="0 (INFO) or more shows TensorFlow's start-up messages")
  args = parser.parse_args()
  serving_dir = newest_version(args.tagger_dir)
  tagger = tf.saved_model.load(serving_dir).signatures["serving_default"]
  print(f"tagger {serving_dir} (serving_default):")
  outputs = tagger(text=tf.constant(args.reviews))
  for row, review in enumerate(args.reviews):
    found = [
        f"[{kind.decode()}] {entity.decode()} ({score:.2f})"
        for entity, kind, score in zip(outputs["entities"][row].numpy(),
                                       outputs["entity_types"][row].numpy(),
                                       outputs["entity_scores"][row].numpy())
        if entity]
    print(f"  {review}\n    => " + (" | ".join(found) or "(nothing tagged)"))


if __name__ == "__main__":
  main()
