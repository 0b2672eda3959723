"""python -m tfhub_export.export: the exports stand alone (sources deleted,
re-exported), and bad input is refused with a clear error and no output."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from albert_tf import checkpoints
from albert_tf.config import AlbertConfig
from cli_helpers import run_module
import export_fixtures as fx
import reference_data as ref
from tfhub_export import export
from tfhub_export import export_utils

NAME = "google_tiny"

# Loads the three exports, saves each loaded object again elsewhere, deletes
# the first exports and loads the re-exports: outputs must not change.
PORTABILITY_SCRIPT = r"""
import json, os, shutil
first, second, inputs_file = sys.argv[1:]
data = dict(np.load(inputs_file))
ids = {k: tf.constant(data[k]) for k in
       ("input_word_ids", "input_mask", "input_type_ids")}
texts = tf.constant(data["text_a"])
empty = tf.fill(tf.shape(texts), "")

def run(root):
  encoder = tf.saved_model.load(os.path.join(root, "encoder"))
  pre = tf.saved_model.load(os.path.join(root, "preprocessor"))
  serving = tf.saved_model.load(os.path.join(root, "serving", "1"))
  packed = pre(texts)
  return [encoder(ids)["pooled_output"].numpy(),
          encoder.signatures["tokens"](
              input_ids=ids["input_word_ids"], input_mask=ids["input_mask"],
              segment_ids=ids["input_type_ids"])["sequence_output"].numpy(),
          packed["input_word_ids"].numpy(),
          encoder(packed)["pooled_output"].numpy(),
          serving.signatures["serving_default"](
              text_a=texts, text_b=empty)["pooled_output"].numpy()], (
              encoder, pre, serving)

before, objects = run(first)
for name, obj in zip(("encoder", "preprocessor", "serving/1"), objects):
  # As TF documents: signatures are re-exported when passed on.
  tf.saved_model.save(obj, os.path.join(second, name),
                      signatures=dict(obj.signatures))
del objects
shutil.rmtree(first)
after, objects = run(second)
vocab = objects[0].signatures["tokenization_info"]()["vocab_file"]
leaks = []
for directory, _, files in os.walk(second):
  for f in files:
    with open(os.path.join(directory, f), "rb") as stream:
      content = stream.read()
    for path in (first, os.path.dirname(first)):
      if path.encode() in content:
        leaks.append((f, path))
print(json.dumps({
    "equal": [bool(np.array_equal(a, b)) for a, b in zip(before, after)],
    "signatures": sorted(objects[2].signatures),
    "vocab_file_exists": os.path.exists(vocab.numpy().decode()),
    "leaks": leaks,
    "pooled_output": before[0].tolist(),
    "chained_pooled_output": before[3].tolist(),
    "serving_pooled_output": before[4].tolist(),
    "packed": before[2].tolist(),
}))
"""


def test_cli_export_all_made_every_part():
  paths, result = fx.cli_export(NAME)
  if result is None:
    pytest.skip("export reused from " + fx.KEEP_DIR_VARIABLE)
  assert "loaded 32 variables" in result.stdout
  for path in paths.values():
    assert f"wrote {path}" in result.stdout
  root = os.path.dirname(paths["encoder"])
  # Nothing else beside it: no staging directory left behind.
  assert [f for f in os.listdir(os.path.dirname(root))
          if f.startswith("." + os.path.basename(root))] == []
  # No file of the export names a path of this machine: neither where its
  # sources were nor where it was written (both are under work_dir). The
  # fixture's tokenizer records its training path; the asset must not.
  machine_path = fx.work_dir().encode()
  assert fx.source_dir(NAME).encode().startswith(machine_path)
  for directory, _, files in os.walk(root):
    for f in files:
      with open(os.path.join(directory, f), "rb") as stream:
        assert machine_path not in stream.read(), f


def test_exports_work_without_sources_and_after_re_export(tmp_path):
  """The CLI's export (its sources deleted), loaded and saved again."""
  paths = fx.cli_export(NAME)[0]
  assert not os.path.exists(fx.source_dir(NAME))
  first = str(tmp_path / "first")
  shutil.copytree(os.path.dirname(paths["encoder"]), first)
  pairs = fx.texts(NAME)
  features = ref.model_inputs(NAME, with_positions=False)
  inputs_file = str(tmp_path / "inputs.npz")
  np.savez(inputs_file,
           text_a=np.array([a.encode("utf-8") for a, _ in pairs]),
           **{k: v.astype(np.int32) for k, v in features.items()})
  out = json.loads(fx.run_fresh(PORTABILITY_SCRIPT, first,
                                str(tmp_path / "second"),
                                inputs_file).splitlines()[-1])
  assert out["equal"] == [True] * 5
  assert out["leaks"] == []
  assert out["vocab_file_exists"]
  assert out["signatures"] == sorted(
      ["serving_default", "serve_text", "serve_token_ids",
       "serve_tf_example"])
  model = fx.keras_model(NAME)
  fx.assert_close(out["pooled_output"],
                  model.encoder(features)["pooled_output"], "encoder")
  packed = fx.python_pack(NAME, [(a, "") for a, _ in pairs])
  np.testing.assert_array_equal(out["packed"], packed["input_word_ids"])
  want = model.encoder(packed)["pooled_output"]
  fx.assert_close(out["chained_pooled_output"], want, "chained")
  fx.assert_close(out["serving_pooled_output"], want, "serving")


def _write_checkpoint_without(tmp_path, dropped):
  reader = tf.train.load_checkpoint(ref.checkpoint_prefix(NAME))
  names = sorted(n for n in reader.get_variable_to_shape_map()
                 if n not in dropped)
  prefix = str(tmp_path / "partial" / "model.ckpt")
  os.makedirs(os.path.dirname(prefix))
  tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names,
                    shape_and_slices=[""] * len(names),
                    tensors=[reader.get_tensor(n) for n in names])
  return prefix


def _spec():
  return export_utils.TokenizerSpec(**fx.tokenizer_kwargs(NAME))


def test_cli_refuses_missing_variables(tmp_path):
  dropped = ["bert/pooler/dense/kernel",
             "bert/encoder/transformer/group_0/inner_group_0/LayerNorm/gamma"]
  prefix = _write_checkpoint_without(tmp_path, dropped)
  export_path = str(tmp_path / "out")
  result = run_module(
      "tfhub_export.export", f"--albert_config_file={ref.config_path(NAME)}",
      f"--checkpoint={prefix}", f"--spm_model_file={fx.tokenizer_file(NAME)}",
      f"--export_path={export_path}")
  assert result.returncode == 1
  assert "\nerror: checkpoint" in "\n" + result.stderr
  assert "Traceback" not in result.stderr
  for name in dropped:
    assert name in result.stderr
  assert not os.path.exists(export_path)
  assert os.listdir(tmp_path) == ["partial"]


@pytest.mark.parametrize("config_change, message", [
    ({"hidden_size": 48}, "shape mismatches"),
    ({"num_hidden_groups": 2}, "missing from the checkpoint"),
    ({"ln_type": "postln"}, "google checkpoint but the model was built"),
])
def test_config_checkpoint_mismatch(tmp_path, config_change, message):
  config = AlbertConfig.from_json_file(ref.config_path(NAME))
  config_file = tmp_path / "albert_config.json"
  config_file.write_text(config.replace(**config_change).to_json_string())
  with pytest.raises(checkpoints.CheckpointMismatchError, match=message):
    export.export(str(config_file), ref.checkpoint_prefix(NAME), _spec(),
                  str(tmp_path / "out"), log=lambda _: None)
  assert os.listdir(tmp_path) == ["albert_config.json"]


def test_wrong_tokenizer_and_missing_files(tmp_path):
  out = str(tmp_path / "out")
  with pytest.raises(export_utils.ExportError, match="4000 tokens"):
    export.export(ref.config_path(NAME), ref.checkpoint_prefix(NAME),
                  export_utils.TokenizerSpec(spm_model_file=ref.SPM_MODEL),
                  out, log=lambda _: None)
  with pytest.raises(FileNotFoundError, match="does not exist"):
    export.export(ref.config_path(NAME), str(tmp_path / "nothing"),
                  _spec(), out, log=lambda _: None)
  for export_type in ("preprocessor", "serving", "all"):
    with pytest.raises(export_utils.ExportError,
                       match=r"--seq_length=4096 must be in \[1, "):
      export.export(ref.config_path(NAME), ref.checkpoint_prefix(NAME),
                    _spec(), out, export_type=export_type, seq_length=4096,
                    log=lambda _: None)
  with pytest.raises(export_utils.ExportError, match="does not exist"):
    export_utils.TokenizerSpec(vocab_file=str(tmp_path / "vocab.txt"))
  with pytest.raises(export_utils.ExportError, match="exactly one"):
    export_utils.TokenizerSpec(vocab_file=ref.ZH_VOCAB,
                               spm_model_file=ref.SPM_MODEL)
  assert not os.path.exists(out)


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
  export_path = tmp_path / "out"
  export_path.mkdir()
  (export_path / "old.txt").write_text("previous export")
  # An export of ours (--overwrite replaces nothing else).
  (export_path / ".albert_tf_output").write_text("albert_tf\n")
  real_save = tf.saved_model.save

  def save_then_fail(obj, path, signatures=None):
    real_save(obj, path, signatures=signatures)  # A complete write...
    raise OSError("disk full")  # ...that fails at the very end.

  monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
  with pytest.raises(OSError, match="disk full"):
    export.export(ref.config_path(NAME), ref.checkpoint_prefix(NAME),
                  _spec(), str(export_path), export_type="preprocessor",
                  seq_length=32, overwrite=True, log=lambda _: None)
  # The previous export is untouched and no staging directory remains.
  assert sorted(os.listdir(tmp_path)) == ["out"]
  assert sorted(os.listdir(export_path)) == [".albert_tf_output", "old.txt"]
  monkeypatch.setattr(tf.saved_model, "save", real_save)
  paths = export.export(ref.config_path(NAME), ref.checkpoint_prefix(NAME),
                        _spec(), str(export_path),
                        export_type="preprocessor", seq_length=32,
                        overwrite=True, log=lambda _: None)
  assert paths == [str(export_path)]
  assert "saved_model.pb" in os.listdir(export_path)
  assert sorted(os.listdir(tmp_path)) == ["out"]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
