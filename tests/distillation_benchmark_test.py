"""benchmarks.distillation_benchmark: what each variant is run with (the
scores themselves are measured by running it, not tested)."""

import json
import os
import types

from benchmarks import distillation_benchmark as benchmark
from benchmarks import finetuning_stability as stability


def test_the_student_is_the_teacher_with_fewer_layers(tmp_path):
  teacher = tmp_path / "teacher.json"
  teacher.write_text(json.dumps({"hidden_size": 64, "num_hidden_layers": 4,
                                 "vocab_size": 300}))
  path = benchmark.student_config(str(tmp_path), str(teacher), 2)
  with open(path, encoding="utf-8") as f:
    assert json.load(f) == {"hidden_size": 64, "num_hidden_layers": 2,
                            "vocab_size": 300}


def test_only_the_distilled_student_has_a_teacher(tmp_path):
  work_dir = str(tmp_path)
  scenario = stability.Scenario(
      "heldout_tagger", "f1", "run_token_classification",
      dict(albert_config_file="teacher.json", init_checkpoint="pretrained",
           train_step=300, warmup_step=30))
  values = types.SimpleNamespace(train_step=None, temperature=3.0, alpha=0.7)
  teacher_dir = os.path.join(work_dir, "runs", "teacher-seed5")
  settings = {name: benchmark.variant_settings(
      name, scenario, 5, work_dir, "student.json", values)
              for name in benchmark.VARIANTS}
  assert settings["teacher"]["albert_config_file"] == "teacher.json"
  assert settings["teacher"]["output_dir"] == teacher_dir
  assert settings["student_plain"]["init_checkpoint"] == "pretrained"
  for name in ("student_plain", "student_teacher_init", "student_distilled"):
    assert settings[name]["albert_config_file"] == "student.json"
    assert settings[name]["seed"] == 5
  for name in ("student_teacher_init", "student_distilled"):
    assert settings[name]["init_checkpoint"] == teacher_dir
  assert [name for name, s in settings.items()
          if "teacher_checkpoint" in s] == ["student_distilled"]
  assert settings["student_distilled"]["teacher_checkpoint"] == teacher_dir
  assert (settings["student_distilled"]["distillation_temperature"],
          settings["student_distilled"]["distillation_alpha"]) == (3.0, 0.7)
  # --train_step: the quick start's schedule for that many steps.
  short = benchmark.variant_settings(
      "teacher", scenario, 1, work_dir, "student.json",
      types.SimpleNamespace(train_step=40, temperature=2.0, alpha=0.5))
  assert (short["train_step"], short["warmup_step"],
          short["save_checkpoints_steps"]) == (40, 4, 20)
