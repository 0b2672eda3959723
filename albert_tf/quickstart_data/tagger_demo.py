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

import tensorflow as tf
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
