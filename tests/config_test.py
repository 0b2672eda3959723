"""AlbertConfig: both original families, round trips, validation, presets."""

import json

import pytest

from albert_tf import presets
from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.config import ORIGINAL_INERT_KEYS
from albert_tf.config import REQUIRED_KEYS
from albert_tf.errors import UserError
import reference_data as ref


@pytest.mark.parametrize("name", ref.MODEL_FIXTURES)
def test_original_config_files_round_trip_unchanged(name):
  with open(ref.config_path(name)) as f:
    original = json.load(f)
  config = AlbertConfig.from_json_file(ref.config_path(name))
  assert config.to_dict() == original
  assert AlbertConfig.from_dict(json.loads(config.to_json_string())) == config


def test_flavor_follows_ln_type():
  assert AlbertConfig.from_json_file(
      ref.config_path("google_tiny")).flavor == "google"
  zh = AlbertConfig.from_json_file(ref.config_path("zh_tiny"))
  assert zh.flavor == "albert_zh" and zh.ln_type == "postln"


def test_unknown_keys_are_kept_and_written_back():
  source = dict(presets.PRESETS["albert_base_v2"])
  source.update(net_structure_type=0, layers_to_keep=[1, 2],
                my_custom_key={"nested": True})
  config = AlbertConfig.from_dict(source)
  written = json.loads(config.to_json_string())
  assert written["my_custom_key"] == {"nested": True}
  assert written["layers_to_keep"] == [1, 2]
  assert written == source


def test_albert_zh_config_keeps_its_own_keys(tmp_path):
  source = {"vocab_size": 21128, "hidden_size": 312, "embedding_size": 128,
            "num_hidden_layers": 4, "num_attention_heads": 12,
            "intermediate_size": 1248, "ln_type": "preln",
            "pooler_fc_size": 768, "directionality": "bidi"}
  path = tmp_path / "albert_config.json"
  path.write_text(json.dumps(source))
  config = AlbertConfig.from_json_file(str(path))
  written = config.to_dict()
  # Google-only keys are not invented for an albert_zh config.
  assert "num_hidden_groups" not in written
  assert written["pooler_fc_size"] == 768 and written["ln_type"] == "preln"
  out = tmp_path / "out.json"
  config.to_json_file(str(out))
  assert AlbertConfig.from_json_file(str(out)) == config
  assert [p.name for p in tmp_path.iterdir()].count("out.json") == 1
  assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


SHAPE = dict(vocab_size=100, embedding_size=8, hidden_size=16,
             num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)


def test_original_defaults_apply_to_optional_keys():
  config = AlbertConfig.from_dict(SHAPE)
  assert (config.max_position_embeddings, config.type_vocab_size,
          config.num_hidden_groups, config.inner_group_num) == (512, 2, 1, 1)
  assert config.hidden_act == "gelu" and config.initializer_range == 0.02


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_a_missing_required_key_names_the_key_and_the_file(key, tmp_path):
  values = dict(SHAPE)
  del values[key]
  path = tmp_path / "albert_config.json"
  path.write_text(json.dumps(values))
  with pytest.raises(AlbertConfigError,
                     match=f"{path}: missing required key `{key}`"):
    AlbertConfig.from_json_file(str(path))


@pytest.mark.parametrize("typo, meant", [
    ("num_hidden_layer", "num_hidden_layers"), ("hiden_size", "hidden_size"),
    ("Hidden_Dropout_Prob", "hidden_dropout_prob"),
    ("initializer-range", "initializer_range"),
    ("max_position_embedding", "max_position_embeddings")])
def test_a_misspelt_key_is_refused_naming_it(typo, meant, tmp_path):
  values = dict(presets.PRESETS["albert_base_v2"], **{typo: 3})
  path = tmp_path / "albert_config.json"
  path.write_text(json.dumps(values))
  with pytest.raises(AlbertConfigError) as raised:
    AlbertConfig.from_json_file(str(path))
  message = str(raised.value)
  assert str(path) in message and f"`{typo}`" in message
  assert f"did you mean `{meant}`" in message
  assert isinstance(raised.value, UserError)
  assert isinstance(raised.value, ValueError)


def test_keys_of_the_released_configs_are_not_taken_for_typos():
  source = dict(presets.PRESETS["albert_tiny_zh"])
  source.update({key: 1 for key in ORIGINAL_INERT_KEYS})
  source.update(model_type="albert", classifier_dropout_prob=0.1)
  assert AlbertConfig.from_dict(source).to_dict() == source


def test_every_released_config_carries_the_required_keys():
  for name in presets.preset_names():
    assert set(REQUIRED_KEYS) <= set(presets.PRESETS[name]), name
  for name in ref.MODEL_FIXTURES:
    with open(ref.config_path(name)) as f:
      assert set(REQUIRED_KEYS) <= set(json.load(f)), name


@pytest.mark.parametrize("content", [
    b"\xff\xfe{\x00", "{\"vocab_size\": 5, \"n\u00e4me\": 1}".encode("latin-1"),
    b"[" * 100000])
def test_unreadable_config_files_name_the_file(content, tmp_path):
  path = tmp_path / "cfg.json"
  path.write_bytes(content)
  with pytest.raises(AlbertConfigError, match=str(path)):
    AlbertConfig.from_json_file(str(path))


def test_unknown_preset_and_both_sources_are_user_errors():
  with pytest.raises(UserError, match="did you mean 'albert_base_v2'"):
    presets.get_preset("albert_bsae_v2")
  with pytest.raises(UserError, match="exactly one"):
    presets.load_config(config_file="x.json", preset="albert_base_v2")


@pytest.mark.parametrize("changes, key", [
    ({"hidden_size": 30, "num_attention_heads": 4}, "hidden_size"),
    ({"vocab_size": 0}, "vocab_size"),
    ({"intermediate_size": -1}, "intermediate_size"),
    ({"embedding_size": 12.5}, "embedding_size"),
    ({"num_hidden_groups": 0}, "num_hidden_groups"),
    ({"num_hidden_groups": 13}, "num_hidden_groups"),
    ({"inner_group_num": 0}, "inner_group_num"),
    ({"hidden_act": "swish"}, "hidden_act"),
    ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob"),
    ({"attention_probs_dropout_prob": "0.1"}, "attention_probs_dropout_prob"),
    ({"initializer_range": 0}, "initializer_range"),
    ({"ln_type": "sandwich"}, "ln_type"),
    ({"ln_type": "postln", "num_hidden_groups": 2}, "ln_type"),
])
def test_invalid_configs_name_the_key(changes, key):
  values = dict(presets.PRESETS["albert_base_v2"], **changes)
  with pytest.raises(AlbertConfigError, match=f"`{key}`"):
    AlbertConfig.from_dict(values, source="my_config.json")


@pytest.mark.parametrize("changes, key", [
    ({"hidden_size": 10**9, "num_attention_heads": 8}, "hidden_size"),
    ({"vocab_size": 10**10}, "vocab_size"),
    ({"intermediate_size": 10**9}, "intermediate_size"),
    ({"max_position_embeddings": 10**9}, "max_position_embeddings"),
    ({"type_vocab_size": 10**10}, "type_vocab_size"),
])
def test_sizes_beyond_memory_are_refused_with_the_estimate(changes, key):
  values = dict(presets.PRESETS["albert_base_v2"], **changes)
  with pytest.raises(AlbertConfigError, match=f"`{key}`") as refused:
    AlbertConfig.from_dict(values, source="my_config.json")
  message = str(refused.value)
  assert "my_config.json" in message
  assert "of float32 weights alone, more than this machine's" in message
  assert " TB " in message or " GB " in message


def test_memory_check_compares_the_weights_with_the_machine(monkeypatch):
  from albert_tf import config as config_module  # pylint: disable=g-import-not-at-top
  base = presets.get_preset("albert_base_v2")  # 12.0M parameters: 48 MB.
  monkeypatch.setattr(config_module, "memory_limit_bytes", lambda: 40 * 10**6)
  with pytest.raises(AlbertConfigError, match="more than this machine's "
                     "40.0 MB of memory"):
    base.replace()
  monkeypatch.setattr(config_module, "memory_limit_bytes", lambda: 60 * 10**6)
  assert base.replace() == base
  monkeypatch.setattr(config_module, "memory_limit_bytes", lambda: None)
  assert base.replace() == base


@pytest.mark.parametrize("changes, key", [
    ({"num_hidden_layers": 10**9}, "num_hidden_layers"),
    ({"num_hidden_layers": 1001}, "num_hidden_layers"),
    ({"num_hidden_layers": 500, "inner_group_num": 3}, "inner_group_num"),
])
def test_absurd_layer_counts_are_refused_for_their_compute(changes, key):
  values = dict(presets.PRESETS["albert_base_v2"], **changes)
  with pytest.raises(AlbertConfigError, match=f"`{key}`.*costs compute, "
                     "not parameters"):
    AlbertConfig.from_dict(values, source="my_config.json")
  # The largest count accepted: a (slow) model, but a model.
  AlbertConfig.from_dict(dict(presets.PRESETS["albert_base_v2"],
                              num_hidden_layers=1000))


def test_missing_vocab_size_and_bad_files(tmp_path):
  with pytest.raises(AlbertConfigError, match="vocab_size"):
    AlbertConfig.from_dict({key: 8 for key in REQUIRED_KEYS
                            if key != "vocab_size"})
  bad = tmp_path / "broken.json"
  bad.write_text("{not json")
  with pytest.raises(AlbertConfigError, match=r"broken.json:1:2: not valid JSON"):
    AlbertConfig.from_json_file(str(bad))
  with pytest.raises(AlbertConfigError, match="cannot read"):
    AlbertConfig.from_json_file(str(tmp_path / "missing.json"))
  for name, content, message in (
      ("latin1.json", "{\"x\": \"\xe9\"}".encode("latin-1"),
       "latin1.json: not a UTF-8 text file"),
      ("blank.json", b"  \n", "blank.json is empty"),
      ("deep.json", b"[" * 100000, "deep.json: JSON nested too deeply")):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AlbertConfigError, match=message):
      AlbertConfig.from_json_file(str(tmp_path / name))
  listed = tmp_path / "list.json"
  listed.write_text("[1, 2]")
  with pytest.raises(AlbertConfigError, match="expected a JSON object"):
    AlbertConfig.from_json_file(str(listed))


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu", "tanh", "linear"])
def test_supported_activations(act):
  values = dict(presets.PRESETS["albert_base_v2"], hidden_act=act)
  assert AlbertConfig.from_dict(values).hidden_act == act


def test_presets_cover_every_published_family():
  names = set(presets.preset_names())
  for size in ("base", "large", "xlarge", "xxlarge"):
    assert {f"albert_{size}_v1", f"albert_{size}_v2",
            f"albert_{size}_zh_google"} <= names
  for size in ("tiny", "small", "base", "large", "xlarge", "xxlarge"):
    assert f"albert_{size}_zh" in names
  assert {"bert_base", "bert_large"} <= names
  for name in names:
    config = presets.get_preset(name)  # Validates.
    assert config == AlbertConfig.from_dict(config.to_dict())
  assert presets.get_preset("albert_tiny_zh").flavor == "albert_zh"
  assert presets.get_preset("albert_base_zh_google").hidden_act == "relu"
  assert presets.get_preset("albert_base_v1").hidden_dropout_prob == 0.1
  assert presets.get_preset("albert_base_v2").hidden_dropout_prob == 0.0
  bert = presets.get_preset("bert_base")
  assert bert.embedding_size == bert.hidden_size
  assert bert.num_hidden_groups == bert.num_hidden_layers
  with pytest.raises(ValueError, match="known presets"):
    presets.get_preset("albert_huge")


def test_group_index_follows_the_original_formula():
  config = AlbertConfig.from_dict(
      dict(presets.PRESETS["albert_base_v2"], num_hidden_groups=4))
  assert [config.group_index(l) for l in range(12)] == [
      0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
