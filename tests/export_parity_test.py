"""Every export, loaded in a fresh process that imports only tensorflow and
tensorflow_text, equals the in-process Keras model (both flavors)."""

import os

import numpy as np
import pytest
import tensorflow as tf

import export_fixtures as fx
import reference_data as ref

# Runs every export on the same inputs and saves all outputs to an npz.
FRESH_SCRIPT = r"""
import os
encoder_dir, preprocessor_dir, serving_dir, inputs_file, out_file = sys.argv[1:]
data = dict(np.load(inputs_file))
text_a = tf.constant(data["text_a"])
text_b = tf.constant(data["text_b"])
ids = {k: tf.constant(data[k]) for k in
       ("input_word_ids", "input_mask", "input_type_ids")}
positions = tf.constant(data["masked_lm_positions"])
out = {}

def put(prefix, outputs):
  for key, value in outputs.items():
    if isinstance(value, (list, tuple)):
      for i, v in enumerate(value):
        out[f"{prefix}/{key}_{i}"] = v.numpy()
    else:
      out[f"{prefix}/{key}"] = value.numpy()

encoder = tf.saved_model.load(encoder_dir)
put("encoder", encoder(ids, training=False))
put("encoder.mlm", encoder.mlm(dict(ids, masked_lm_positions=positions)))
put("encoder.sop", encoder.sop(ids))
put("encoder.serve", encoder.serve(ids))
sig = encoder.signatures
put("sig.serving_default", sig["serving_default"](**ids))
tf1 = dict(input_ids=ids["input_word_ids"], input_mask=ids["input_mask"],
           segment_ids=ids["input_type_ids"])
put("sig.tokens", sig["tokens"](**tf1))
put("sig.mlm", sig["mlm"](mlm_positions=positions, **tf1))
put("sig.sop", sig["sop"](**tf1))
info = sig["tokenization_info"]()
vocab_file = info["vocab_file"].numpy().decode()
out["info/vocab_file_exists"] = np.array(os.path.exists(vocab_file))
out["info/vocab_file_name"] = np.array(os.path.basename(vocab_file))
out["info/do_lower_case"] = info["do_lower_case"].numpy()

pre = tf.saved_model.load(preprocessor_dir)
put("pre.call", pre(text_a))
tokens_a, tokens_b = pre.tokenize(text_a), pre.tokenize(text_b)
out["pre.tokenize/values"] = tokens_a.flat_values.numpy()
out["pre.tokenize/splits"] = tokens_a.row_splits.numpy()
packed = pre.bert_pack_inputs([tokens_a, tokens_b], seq_length=int(data["seq_length"]))
put("pre.pack2", packed)
put("pre.pack1_short", pre.bert_pack_inputs([tokens_a], seq_length=8))
put("pre.special", pre.tokenize.get_special_tokens_dict())
put("chain", encoder(packed))

serving = tf.saved_model.load(serving_dir)
sig = serving.signatures
put("srv.default", sig["serving_default"](text_a=text_a, text_b=text_b))
put("srv.text", sig["serve_text"](text=text_a))
put("srv.ids", sig["serve_token_ids"](**ids))
examples = []
for i in range(len(data["pair_input_word_ids"])):
  feature = {}
  for ours, theirs in (("input_word_ids", "input_ids"),
                       ("input_mask", "input_mask"),
                       ("input_type_ids", "segment_ids")):
    feature[theirs] = tf.train.Feature(int64_list=tf.train.Int64List(
        value=data["pair_" + ours][i].tolist()))
  examples.append(tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString())
put("srv.example", sig["serve_tf_example"](examples=tf.constant(examples)))
assert not [m for m in sys.modules
            if m.startswith(("albert_tf", "tfhub_export")) and sys.modules[m]]
np.savez(out_file, **out)
"""


@pytest.fixture(scope="module", params=fx.FLAVORS)
def results(request):
  """(name, fresh-process outputs, data fed to them, their Python packing).

  Texts go in as UTF-8 bytes (np.load would need pickle for str objects).
  """
  name = request.param
  paths = fx.exports(name)
  pairs = fx.texts(name)
  features = ref.model_inputs(name)
  packed = fx.python_pack(name, pairs)
  data = {
      "text_a": np.array([a.encode("utf-8") for a, _ in pairs]),
      "text_b": np.array([b.encode("utf-8") for _, b in pairs]),
      "input_word_ids": features["input_word_ids"].astype(np.int32),
      "input_mask": features["input_mask"].astype(np.int32),
      "input_type_ids": features["input_type_ids"].astype(np.int32),
      "masked_lm_positions": features["masked_lm_positions"].astype(
          np.int32),
      "seq_length": np.array(fx.SEQ_LENGTH),
  }
  data.update({"pair_" + k: v for k, v in packed.items()})
  directory = os.path.join(fx.work_dir(), f"parity_{name}")
  os.makedirs(directory, exist_ok=True)
  inputs_file = os.path.join(directory, "inputs.npz")
  out_file = os.path.join(directory, "outputs.npz")
  np.savez(inputs_file, **data)
  fx.run_fresh(FRESH_SCRIPT, paths["encoder"], paths["preprocessor"],
               paths["serving"], inputs_file, out_file)
  return name, dict(np.load(out_file)), data, packed


def _keras(name, inputs, positions=None):
  model = fx.keras_model(name)
  inputs = {k: tf.constant(v) for k, v in inputs.items()}
  if positions is None:
    return model.encoder(inputs, training=False)
  return model(dict(inputs, masked_lm_positions=tf.constant(positions)),
               training=False)


def _ids(data):
  return {k: data[k] for k in fx.INPUT_KEYS}


def test_encoder_call_mlm_sop_and_signatures(results):
  name, out, data, _ = results
  want = _keras(name, _ids(data), data["masked_lm_positions"])
  for prefix in ("encoder", "encoder.mlm", "encoder.sop", "encoder.serve",
                 "sig.serving_default", "sig.tokens", "sig.mlm", "sig.sop"):
    for key in ("pooled_output", "sequence_output"):
      fx.assert_close(out[f"{prefix}/{key}"], want[key], f"{prefix}/{key}")
  np.testing.assert_array_equal(out["encoder/default"], out[
      "encoder/pooled_output"])
  for i, layer in enumerate(want["encoder_outputs"]):
    fx.assert_close(out[f"encoder/encoder_outputs_{i}"], layer,
                    f"encoder_outputs[{i}]")
  assert f"encoder/encoder_outputs_{len(want['encoder_outputs'])}" not in out
  fx.assert_close(out["encoder.mlm/mlm_logits"], want["mlm_logits"],
                  "mlm_logits")
  fx.assert_close(out["encoder.mlm/sop_logits"], want["sop_logits"],
                  "sop_logits")
  fx.assert_close(out["encoder.sop/sop_logits"], want["sop_logits"],
                  "sop.sop_logits")
  # The TF1 Hub signatures: flattened [B·P, V] logits, SOP log-probs.
  vocab = fx.config(name).vocab_size
  fx.assert_close(out["sig.mlm/mlm_logits"],
                  np.reshape(want["mlm_logits"], [-1, vocab]), "TF1 mlm")
  fx.assert_close(out["sig.sop/sop_log_probs"],
                  tf.nn.log_softmax(want["sop_logits"]), "TF1 sop")
  assert out["info/vocab_file_exists"]
  assert str(out["info/vocab_file_name"]) == os.path.basename(
      fx.tokenizer_file(name))
  assert out["info/do_lower_case"]


def test_encoder_matches_the_original_graph(results):
  """The export reproduces the original TF1 outputs (golden file)."""
  name, out, _, _ = results
  expected = ref.expected(name)
  fx.assert_close(out["encoder/sequence_output"], expected["sequence_output"],
                  "sequence_output", tolerance=ref.TOLERANCE)
  fx.assert_close(out["encoder/pooled_output"], expected["pooled_output"],
                  "pooled_output", tolerance=ref.TOLERANCE)


def test_preprocessor_matches_python_tokenizer(results):
  name, out, data, _ = results
  texts_a = [t.decode("utf-8") for t in data["text_a"]]
  ids = tf.RaggedTensor.from_row_splits(out["pre.tokenize/values"],
                                        out["pre.tokenize/splits"])
  assert ids.to_list() == [fx.python_ids(name, t) for t in texts_a]
  # Calling it on strings packs one segment at the default length.
  single = fx.python_pack(name, [(a, "") for a in texts_a])
  for key in fx.INPUT_KEYS:
    np.testing.assert_array_equal(out[f"pre.call/{key}"], single[key], key)
  short = fx.python_pack(name, [(a, "") for a in texts_a], seq_length=8)
  np.testing.assert_array_equal(out["pre.pack1_short/input_word_ids"],
                                short["input_word_ids"])
  tokenizer = fx.python_tokenizer(name)
  special = {k.split("/")[1]: int(v) for k, v in out.items()
             if k.startswith("pre.special/")}
  pad = "<pad>" if tokenizer.sp_model is not None else "[PAD]"
  assert special == {
      "vocab_size": fx.config(name).vocab_size,
      "start_of_sequence_id": tokenizer.vocab["[CLS]"],
      "end_of_segment_id": tokenizer.vocab["[SEP]"],
      "padding_id": tokenizer.vocab[pad],
      "mask_id": tokenizer.vocab["[MASK]"],
  }


def test_preprocessor_and_encoder_chained_equal_python_path(results):
  """Raw strings → preprocessor → encoder = FullTokenizer → AlbertEncoder."""
  name, out, data, _ = results
  pairs = [(a.decode("utf-8"), b.decode("utf-8"))
           for a, b in zip(data["text_a"], data["text_b"])]
  # bert_pack_inputs got both segments for every row, "" included.
  python = fx.python_pack(name, pairs, always_pair=True)
  for key in fx.INPUT_KEYS:
    np.testing.assert_array_equal(out[f"pre.pack2/{key}"], python[key], key)
  want = _keras(name, python)
  for key in ("pooled_output", "sequence_output"):
    fx.assert_close(out[f"chain/{key}"], want[key], f"chain/{key}")


def test_serving_signatures_equal_keras(results):
  name, out, data, packed = results
  want = _keras(name, packed)
  for prefix in ("srv.default", "srv.example"):
    for key in ("pooled_output", "sequence_output"):
      fx.assert_close(out[f"{prefix}/{key}"], want[key], f"{prefix}/{key}")
  texts_a = [t.decode("utf-8") for t in data["text_a"]]
  single = _keras(name, fx.python_pack(name, [(a, "") for a in texts_a]))
  fx.assert_close(out["srv.text/pooled_output"], single["pooled_output"],
                  "serve_text")
  by_ids = _keras(name, _ids(data))
  fx.assert_close(out["srv.ids/sequence_output"], by_ids["sequence_output"],
                  "serve_token_ids")
  assert sorted(k.split("/")[1] for k in out if k.startswith(
      "srv.default/")) == ["pooled_output", "sequence_output"]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
