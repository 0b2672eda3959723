"""tfhub_export.export's job: TF Hub SavedModels (encoder, preprocessor),
TF Serving and TFLite models of a pretrained checkpoint or of a fine-tuning
run's best model.

  export()            a checkpoint's encoder: --export_type's outputs
  export_finetuned()  a fine-tuning --output_dir's model with its head
  run()               the command line's job: checks the settings, holds the
                      export path's lock, calls one of the two

Settings: tfhub_export/export_settings.py; the command line:
tfhub_export/export.py.
"""

import dataclasses
import os

from albert_tf.errors import FlagError
from albert_tf.files import output_lock
from albert_tf.files import run_manifest
from albert_tf.settings import defaults as settings_defaults
from albert_tf.checkpoints import resolve_model_files
from tfhub_export import encoder_export
from tfhub_export import export_precision
from tfhub_export import export_settings
from tfhub_export import export_utils
from tfhub_export import preprocessor_export
from tfhub_export import serving_export
from tfhub_export import tflite_export

# What the bare encoder serves.
ENCODER_SERVING_OUTPUTS = ("pooled_output", "sequence_output")


def export(albert_config_file, checkpoint, tokenizer_spec, export_path,
           export_type="all", seq_length=128, version=None, overwrite=False,
           log=print, tflite_quantization="none", precision="float32"):
  """Writes the requested export(s); returns the paths written.

  `precision` (export_precision.PRECISIONS): what the encoder and serving
  models compute in; their inputs and outputs are the same either way.

  Raises:
    albert_tf.errors.UserError: bad user input (config, checkpoint,
    tokenizer, an existing output). Nothing is written then.
  """
  if export_type not in export_settings.EXPORT_TYPES:
    raise export_utils.ExportError(
        f"export_type must be one of {export_settings.EXPORT_TYPES}, got "
        f"{export_type!r}")
  export_precision.check_precision(precision)
  _check_tflite_precision(export_type, precision)
  export_path = os.path.abspath(export_path)
  if export_type != "serving":
    export_utils.check_absent(export_path, overwrite)
  elif version is not None:
    export_utils.check_absent(os.path.join(export_path, str(version)),
                              overwrite)
  # Built, traced and saved under the precision's policy.
  with export_precision.computing_in(precision):
    return _export_loaded(
        export_utils.load_model(albert_config_file, checkpoint),
        tokenizer_spec, export_path, export_type, seq_length, version,
        overwrite, log, tflite_quantization)


def _check_tflite_precision(export_type, precision):
  # TFLite has its own reduced precisions (--tflite_quantization); a
  # mixed_bfloat16 graph is not one of them.
  if export_type == "tflite" and precision != "float32":
    raise FlagError(f"--export_precision={precision} does not apply to "
                    "--export_type=tflite: use --tflite_quantization=float16 "
                    "or dynamic_int8 for a smaller, faster TFLite model")


def _export_loaded(loaded, tokenizer_spec, export_path, export_type,
                   seq_length, version, overwrite, log, tflite_quantization):
  """export()'s writing, once the model is loaded."""
  log(loaded.report)
  vocab_size = loaded.pretrainer.config.vocab_size
  tokenizer_spec.graph_tokenizer(vocab_size)  # Check before any writing.
  max_positions = loaded.pretrainer.config.max_position_embeddings
  if export_type != "encoder" and not 0 < seq_length <= max_positions:
    raise export_utils.ExportError(
        f"--seq_length={seq_length} must be in [1, {max_positions}], the "
        "model's max_position_embeddings")

  def write_encoder(path):
    return encoder_export.export_encoder(loaded, tokenizer_spec, path)

  def write_preprocessor(path):
    return preprocessor_export.export_preprocessor(
        tokenizer_spec, path, seq_length=seq_length, vocab_size=vocab_size)

  def write_serving(path, version, overwrite):
    return serving_export.export_serving_model(
        loaded.pretrainer.encoder, path,
        spm_model_file=tokenizer_spec.spm_model_file,
        vocab_file=tokenizer_spec.vocab_file,
        do_lower_case=tokenizer_spec.do_lower_case, seq_length=seq_length,
        version=version, overwrite=overwrite,
        output_names=list(ENCODER_SERVING_OUTPUTS))

  if export_type == "tflite":
    return [tflite_export.export_tflite(
        loaded.pretrainer.encoder, export_path, tokenizer_spec=tokenizer_spec,
        seq_length=seq_length, output_names=list(ENCODER_SERVING_OUTPUTS),
        quantization=tflite_quantization, overwrite=overwrite)]
  if export_type == "encoder":
    return [encoder_export.export_encoder(loaded, tokenizer_spec, export_path,
                                          overwrite=overwrite)]
  if export_type == "preprocessor":
    return [preprocessor_export.export_preprocessor(
        tokenizer_spec, export_path, seq_length=seq_length,
        vocab_size=vocab_size, overwrite=overwrite)]
  if export_type == "serving":
    return [write_serving(export_path, version, overwrite)]
  # All three appear together, or none does.
  with export_utils.atomic_directory(export_path, overwrite) as staging:
    write_encoder(os.path.join(staging, "encoder"))
    write_preprocessor(os.path.join(staging, "preprocessor"))
    serving_dir = write_serving(os.path.join(staging, "serving"),
                                version or 1, False)
  serving_dir = os.path.join(export_path, "serving",
                             os.path.basename(serving_dir))
  return [os.path.join(export_path, "encoder"),
          os.path.join(export_path, "preprocessor"), serving_dir]


def _finetuned_task_class(name):
  """The task class of --finetuned_task `name` (imported on demand)."""
  import importlib  # pylint: disable=g-import-not-at-top
  module, class_name = export_settings.FINETUNED_TASK_CLASSES[name]
  return getattr(importlib.import_module(module), class_name)


def export_finetuned(settings, export_path, log=print):
  """The TF Serving (or TFLite) export of a fine-tuning output_dir's best
  model, as the tool's --export_dir writes it with the run's settings
  (version: --version or the next one); returns the version directory (the
  TFLite model's path)."""
  from albert_tf.tasks import runner  # pylint: disable=g-import-not-at-top
  if settings.export_type not in ("serving", "tflite"):
    raise FlagError("--finetuned_dir exports a TF Serving or TFLite model: "
                    "pass --export_type=serving or --export_type=tflite")
  _check_tflite_precision(settings.export_type, settings.export_precision)
  if not settings.finetuned_task:
    raise FlagError("--finetuned_dir needs --finetuned_task (one of "
                    f"{', '.join(export_settings.FINETUNED_TASKS)})")
  if settings.max_entities < 1:
    raise FlagError(f"--max_entities must be positive, got "
                    f"{settings.max_entities}")
  # The run's own settings (the job refuses a config or tokenizer that
  # differs from them).
  recorded = run_manifest.read_manifest(settings.finetuned_dir,
                                        name="finetuning")
  if recorded is None:
    raise FlagError(f"--finetuned_dir {settings.finetuned_dir} is not a "
                    "fine-tuning --output_dir (no finetuning.manifest.json)")
  task_class = _finetuned_task_class(settings.finetuned_task)
  kind = recorded.get("task")  # Recorded by runs since distillation came.
  if kind is not None and kind.split(" ")[0] != task_class.__name__:
    raise FlagError(
        f"--finetuned_dir {settings.finetuned_dir} holds a {kind} model, "
        f"not one of --finetuned_task={settings.finetuned_task}'s "
        f"({task_class.__name__})")
  values = dict(
      task_class.settings_from_manifest(recorded),
      output_dir=settings.finetuned_dir, export_dir=export_path,
      albert_config_file=settings.albert_config_file,
      spm_model_file=settings.spm_model_file, vocab_file=settings.vocab_file,
      do_lower_case=settings.do_lower_case,
      max_seq_length=recorded.get("max_seq_length"),
      task_name=recorded.get("task_name"))
  if settings.finetuned_task == "token_classification":
    values["max_entities"] = settings.max_entities
  # The task model is built (and traced) under the precision's policy.
  with export_precision.computing_in(settings.export_precision):
    job = runner.FinetuningJob(
        task_class, settings_defaults(task_class.settings_class, **values))
    return _export_job(job, settings, export_path, log)


def _export_job(job, settings, export_path, log):
  """export_finetuned's writing, once the job is made."""
  try:
    log(f"using {job.load_for_inference()}")
    task = job.task
    if settings.export_type == "tflite":
      return tflite_export.export_task_tflite(
          task, job.trainer.model, export_path,
          tokenizer_spec=export_utils.TokenizerSpec(
              spm_model_file=settings.spm_model_file,
              vocab_file=(None if settings.spm_model_file
                          else settings.vocab_file),
              do_lower_case=settings.do_lower_case),
          seq_length=job.settings.max_seq_length,
          quantization=settings.tflite_quantization,
          overwrite=settings.overwrite)
    # As the tool's --export_dir (the job's export_dir is export_path).
    return job.export(version=settings.version, overwrite=settings.overwrite)
  finally:
    job.close()


def run(settings, log=print):
  """Checks the settings and exports; returns the paths written."""
  # A Hugging Face directory brings its config.json and spiece.model.
  albert_config_file, spm_model_file = resolve_model_files(
      settings.checkpoint, settings.albert_config_file,
      settings.spm_model_file, vocab_file=settings.vocab_file)
  settings = dataclasses.replace(settings,
                                 albert_config_file=albert_config_file,
                                 spm_model_file=spm_model_file)
  required = ["albert_config_file", "export_path"]
  if settings.finetuned_task and not settings.finetuned_dir:
    raise FlagError("--finetuned_task names the tool of --finetuned_dir, "
                    "which is missing")
  if not settings.finetuned_dir:
    required.append("checkpoint")
  elif settings.checkpoint:
    raise FlagError("pass --checkpoint (an encoder) or --finetuned_dir (a "
                    "fine-tuned model), not both")
  for name in required:
    if not getattr(settings, name):
      raise FlagError(f"--{name} is required")
  if (settings.tflite_quantization != "none" and
      settings.export_type != "tflite"):
    raise FlagError("--tflite_quantization applies to --export_type=tflite "
                    f"only (got --export_type={settings.export_type})")
  tokenizer_spec = export_utils.TokenizerSpec(
      spm_model_file=settings.spm_model_file, vocab_file=settings.vocab_file,
      do_lower_case=settings.do_lower_case)
  # One export at a time to a path: the export appears by a rename in its
  # parent directory, so the lock is there, named after it.
  export_path = os.path.abspath(settings.export_path)
  with output_lock.lock_output_dir(
      os.path.dirname(export_path), flag_name="export_path",
      lock_filename=output_lock.lock_filename_for(
          os.path.basename(export_path))):
    if settings.finetuned_dir:
      paths = [export_finetuned(settings, export_path, log=log)]
    else:
      paths = export(settings.albert_config_file, settings.checkpoint,
                     tokenizer_spec, export_path,
                     export_type=settings.export_type,
                     seq_length=settings.seq_length, version=settings.version,
                     overwrite=settings.overwrite, log=log,
                     tflite_quantization=settings.tflite_quantization,
                     precision=settings.export_precision)
  for path in paths:
    log(f"wrote {path}")
  return paths
