"""BUILD declares every module and every test file, and nothing stale."""

import glob
import os

import pytest

from reference_data import PROJECT_ROOT

BUILD_PATH = os.path.join(PROJECT_ROOT, "BUILD")
# Python packages → the py_library that must list their modules.
PACKAGE_LIBRARIES = {
    package: package.replace("/", "_") for package in (
        "albert_tf", "albert_tf/checkpoints", "albert_tf/cli",
        "albert_tf/files", "albert_tf/modeling", "albert_tf/modeling/heads",
        "albert_tf/modeling/layers", "albert_tf/pretraining_data",
        "albert_tf/tasks", "albert_tf/tasks/squad", "albert_tf/tokenization",
        "albert_tf/training", "tfhub_export", "benchmarks")
}
# Entry points: a bare name is albert_tf/<name>.py; others give their module
# path, e.g. "tfhub_export/export.py" (its py_binary is named
# tfhub_export_export: the path with "/" → "_", without ".py").
ENTRY_POINTS = ("convert_checkpoint", "describe", "train_sentencepiece",
                "create_pretraining_data", "run_pretraining", "quickstart",
                "run_classifier", "run_race", "run_squad",
                "run_token_classification",
                "tfhub_export/export.py", "tfhub_export/saved_model_cli.py",
                "benchmarks/encoder_benchmark.py",
                "benchmarks/finetuning_benchmark.py",
                "benchmarks/gpu_memory_benchmark.py",
                "benchmarks/inference_benchmark.py",
                "benchmarks/memory_benchmark.py",
                "benchmarks/pretraining_benchmark.py",
                "benchmarks/pretraining_data_benchmark.py",
                "benchmarks/serving_benchmark.py",
                "benchmarks/tokenizer_benchmark.py")


def entry_point_target(entry):
  """(py_binary name, main) that BUILD must have for an ENTRY_POINTS entry."""
  if entry.endswith(".py"):
    return entry[:-len(".py")].replace("/", "_"), entry
  return entry, f"albert_tf/{entry}.py"


def parse_build(text):
  """Evaluates BUILD text (this Starlark is plain Python) into {name: rule}."""
  rules = {}

  def rule(kind):
    def define(name, **kwargs):
      if name in rules:
        raise ValueError(f"target {name} defined twice")
      rules[name] = dict(kwargs, kind=kind)
    return define

  namespace = {
      "load": lambda *args: None,
      "package": lambda **kwargs: None,
      "py_library": rule("py_library"),
      "py_binary": rule("py_binary"),
      "py_test": rule("py_test"),
      "glob": lambda patterns: sorted(
          f for p in patterns for f in project_files(p)),
  }
  exec(compile(text, "BUILD", "exec"), namespace)  # pylint: disable=exec-used
  return rules


def project_files(pattern):
  return sorted(os.path.relpath(p, PROJECT_ROOT)
                for p in glob.glob(os.path.join(PROJECT_ROOT, pattern),
                                   recursive=True))


def sources_of(rules, kind):
  return {src for rule in rules.values() if rule["kind"] == kind
          for src in rule.get("srcs", [])}


def problems(rules):
  """Every way BUILD disagrees with the tree, as readable strings."""
  found = []
  binaries = sources_of(rules, "py_binary")
  for package, library in PACKAGE_LIBRARIES.items():
    rule = rules.get(library)
    if rule is None or rule["kind"] != "py_library":
      found.append(f"no py_library :{library} for package {package}")
      continue
    modules = set(project_files(os.path.join(package, "*.py"))) - binaries
    for module in sorted(modules - set(rule["srcs"])):
      found.append(f"{module} missing from :{library}")
  for test in project_files("tests/*_test.py"):
    name = os.path.basename(test)[:-3]
    rule = rules.get(name)
    if (rule is None or rule["kind"] != "py_test" or
        rule.get("srcs") != [test]):
      found.append(f"{test} has no py_test :{name}")
  helpers = set(project_files("tests/*.py")) - set(
      project_files("tests/*_test.py"))
  for helper in sorted(helpers - sources_of(rules, "py_library")):
    found.append(f"test helper {helper} missing from BUILD")
  for entry in ENTRY_POINTS:
    name, main = entry_point_target(entry)
    rule = rules.get(name)
    if (rule is None or rule["kind"] != "py_binary" or
        rule.get("main") != main):
      found.append(f"no py_binary :{name} with main {main}")
  for name, rule in rules.items():
    for src in rule.get("srcs", []) + rule.get("data", []):
      if not os.path.exists(os.path.join(PROJECT_ROOT, src)):
        found.append(f":{name} names missing file {src}")
    for dep in rule.get("deps", []):
      if not (dep.startswith(":") and dep[1:] in rules):
        found.append(f":{name} has unknown dep {dep}")
  return found


def build_text():
  with open(BUILD_PATH) as f:
    return f.read()


def test_build_matches_the_tree():
  assert problems(parse_build(build_text())) == []


def test_every_package_is_known():
  packages = {os.path.dirname(p) for p in project_files("*/__init__.py") +
              project_files("albert_tf/**/__init__.py")}
  assert packages == set(PACKAGE_LIBRARIES)


@pytest.mark.parametrize("removed, complaint", [
    ('"albert_tf/modeling/losses.py",\n', "albert_tf/modeling/losses.py missing from :albert_tf_modeling"),
    ('"albert_tf/modeling/layers/layer_norm.py",\n',
     "albert_tf/modeling/layers/layer_norm.py missing from :albert_tf_modeling_layers"),
    ('srcs = ["tests/config_test.py"],',
     "tests/config_test.py has no py_test :config_test"),
    ('"tests/reference_data.py",\n',
     "test helper tests/reference_data.py missing from BUILD"),
])
def test_a_missing_entry_is_caught(removed, complaint):
  text = build_text()
  assert removed in text
  assert complaint in problems(parse_build(text.replace(removed, "", 1)))


def test_entry_points_by_module_path():
  assert entry_point_target("describe") == ("describe",
                                            "albert_tf/describe.py")
  assert entry_point_target("tfhub_export/export.py") == (
      "tfhub_export_export", "tfhub_export/export.py")
  text = build_text()
  removed = 'main = "tfhub_export/export.py",'
  assert removed in text
  assert ("no py_binary :tfhub_export_export with main tfhub_export/export.py"
          in problems(parse_build(text.replace(removed, "", 1))))


def test_duplicate_targets_are_caught():
  with pytest.raises(ValueError, match="defined twice"):
    parse_build(build_text() * 2)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
