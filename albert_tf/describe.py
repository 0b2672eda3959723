r"""Prints the size of an ALBERT model: parameters, FLOPs and weight memory.

  python -m albert_tf.describe --preset=albert_base_v2
  python -m albert_tf.describe --albert_config_file=albert_config.json --json
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import dataclasses
import json

from absl import app
from absl import flags

from albert_tf import presets
from albert_tf.cli import flag_table
from albert_tf.errors import FlagError
from albert_tf.settings import setting
from albert_tf.modeling.model_stats import compute_stats

FLAGS = flags.FLAGS


@dataclasses.dataclass
class DescribeSettings:
  albert_config_file: str | None = setting(
      None, "An original albert_config.json.")
  preset: str | None = setting(
      None, "A named config: " + ", ".join(presets.preset_names()))
  seq_length: int | None = setting(
      None, "Sequence length for FLOPs (default: max_position_embeddings).")
  json: bool = setting(False, "Print JSON instead of a table.")


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flag_table.define_flags(DescribeSettings)


def _millions(n):
  return f"{n:>14,d}  ({n / 1e6:.2f}M)"


def format_table(name, config, stats):
  d = stats.as_dict()
  p = d["params"]
  mem = d["weight_memory_bytes"]
  return "\n".join([
      f"{name}  ({config.flavor} flavor, L={config.num_hidden_layers} "
      f"H={config.hidden_size} E={config.embedding_size} "
      f"I={config.intermediate_size} heads={config.num_attention_heads} "
      f"groups={config.num_hidden_groups}x{config.inner_group_num} "
      f"V={config.vocab_size})",
      "unique parameters",
      f"  embeddings          {_millions(p['embeddings'])}",
      f"  transformer         {_millions(p['transformer'])}",
      f"  pooler              {_millions(p['pooler'])}",
      f"  encoder total       {_millions(p['encoder_total'])}",
      f"  pretraining heads   {_millions(p['pretraining_heads'])}",
      f"  total with heads    {_millions(p['total_with_heads'])}",
      f"forward FLOPs per token (seq_length {d['seq_length']}): "
      f"{d['forward_flops_per_token'] / 1e9:.3f} GFLOPs "
      f"({d['forward_gflops_per_sequence']:.1f} GFLOPs per sequence)",
      f"MLM head FLOPs per masked token: "
      f"{d['mlm_head_flops_per_prediction'] / 1e6:.1f} MFLOPs",
      f"weight memory: {mem['float32'] / 2**20:.1f} MiB float32, "
      f"{mem['bfloat16'] / 2**20:.1f} MiB bfloat16",
  ])


def describe(settings):
  """Prints the table (or JSON) for the settings' config."""
  if settings.seq_length is not None and settings.seq_length <= 0:
    raise FlagError(f"--seq_length must be positive, got "
                    f"{settings.seq_length}")
  config = presets.load_config(settings.albert_config_file, settings.preset)
  if (settings.seq_length is not None and
      settings.seq_length > config.max_position_embeddings):
    raise FlagError(f"--seq_length={settings.seq_length} exceeds the "
                    "model's max_position_embeddings="
                    f"{config.max_position_embeddings}; pass a length in "
                    f"[1, {config.max_position_embeddings}]")
  stats = compute_stats(config, settings.seq_length)
  name = settings.preset or settings.albert_config_file
  if settings.json:
    print(json.dumps({"name": name, "config": config.to_dict(),
                      **stats.as_dict()}, indent=2))
  else:
    print(format_table(name, config, stats))


def main(argv):
  return flag_table.run_job(
      lambda: describe(flag_table.settings_from_flags(DescribeSettings)), argv)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=flag_table.parse_flags)
