"""Uses the quick start's pretrained exports with TensorFlow alone.

  python encoder_demo.py <export_dir> "first sentence" "second sentence" \
      --fill_in="a held-out sentence" --mask_word=word

Imports only tensorflow and tensorflow_text (whose ops the in-graph
tokenizer needs), as a serving machine would: nothing of albert_tf.

1. The TF Serving model (<export_dir>/serving/<newest version>) answers the
   raw sentences through its serving_default signature; their pooled
   outputs' norms and cosine similarity are printed.
2. Fill in the blank: --mask_word in --fill_in is replaced by [MASK] pieces
   and the encoder's `mlm` part (<export_dir>/encoder) predicts them; the
   top-5 pieces are printed. The preprocessor (<export_dir>/preprocessor)
   tokenizes, and the encoder's SentencePiece model (an asset of the
   export) turns the predicted ids back into pieces.
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
import tensorflow_text as text

TOP_K = 5


def newest_version(base_dir):
  versions = [name for name in os.listdir(base_dir) if name.isdigit()]
  if not versions:
    raise SystemExit(f"no model version under {base_dir}")
  return os.path.join(base_dir, max(versions, key=int))


def serve(serving_dir, sentences):
  model = tf.saved_model.load(serving_dir)
  serving_default = model.signatures["serving_default"]
  # text_b "" packs each sentence alone: [CLS] text_a [SEP].
  outputs = serving_default(text_a=tf.constant(sentences),
                            text_b=tf.constant([""] * len(sentences)))
  pooled = outputs["pooled_output"]
  print(f"TF Serving model {serving_dir} (serving_default, raw text in):")
  for sentence, norm in zip(sentences, tf.norm(pooled, axis=-1).numpy()):
    print(f"  pooled_output norm {norm:.3f}  {sentence!r}")
  if len(sentences) == 2:
    unit = tf.math.l2_normalize(pooled, axis=-1)
    cosine = float(tf.reduce_sum(unit[0] * unit[1]))
    print(f"  cosine similarity of the two: {cosine:.3f}")


def fill_in(export_dir, sentence, mask_word):
  preprocessor = tf.saved_model.load(os.path.join(export_dir, "preprocessor"))
  encoder = tf.saved_model.load(os.path.join(export_dir, "encoder"))
  words = sentence.split()
  if mask_word not in words:
    raise SystemExit(f"--mask_word {mask_word!r} is not a word of "
                     f"{sentence!r}")
  index = words.index(mask_word)
  # SentencePiece never joins pieces across spaces, so tokenizing word by
  # word gives the pieces of the whole sentence, grouped by word.
  pieces = preprocessor.tokenize(tf.constant(words)).to_list()
  special = {k: int(v) for k, v in
             preprocessor.tokenize.get_special_tokens_dict().items()}
  before = [i for word in pieces[:index] for i in word]
  after = [i for word in pieces[index + 1:] for i in word]
  masked = [special["mask_id"]] * len(pieces[index])
  ids = ([special["start_of_sequence_id"]] + before + masked + after +
         [special["end_of_segment_id"]])
  positions = list(range(1 + len(before), 1 + len(before) + len(masked)))
  outputs = encoder.mlm({
      "input_word_ids": tf.constant([ids], tf.int32),
      "input_mask": tf.ones([1, len(ids)], tf.int32),
      "input_type_ids": tf.zeros([1, len(ids)], tf.int32),
      "masked_lm_positions": tf.constant([positions], tf.int32),
  }, training=False)
  probabilities = tf.nn.softmax(outputs["mlm_logits"][0], axis=-1)
  top = tf.math.top_k(probabilities, k=TOP_K)
  sp_model = tf.io.read_file(encoder.sp_model_file.asset_path).numpy()
  tokenizer = text.SentencepieceTokenizer(model=sp_model)
  shown = " ".join(words[:index] + ["[MASK]" * len(masked)] +
                   words[index + 1:])
  print(f"fill in the blank (encoder `mlm`): {shown}")
  print(f"  the masked word was {mask_word!r}")
  for position in range(len(masked)):
    guesses = tokenizer.id_to_string(top.indices[position]).numpy()
    listed = ", ".join(
        f"{piece.decode('utf-8')} {probability:.1%}"
        for piece, probability in zip(guesses,
                                      top.values[position].numpy()))
    print(f"  top {TOP_K} for [MASK] {position + 1}: {listed}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("export_dir")
  parser.add_argument("sentences", nargs="+")
  parser.add_argument("--fill_in", required=True)
  parser.add_argument("--mask_word", required=True)
  parser.add_argument(
      "--verbosity", "-v", type=int, default=-1,
      help="0 (INFO) or more shows TensorFlow's start-up messages")
  args = parser.parse_args()
  serve(newest_version(os.path.join(args.export_dir, "serving")),
        args.sentences)
  fill_in(args.export_dir, args.fill_in, args.mask_word)


if __name__ == "__main__":
  main()
