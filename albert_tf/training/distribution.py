"""Distribution strategies from the original flags (use_tpu, tpu_name, ...).

Built on official.common.distribute_utils. Adds what ALBERT users need on top:
the original TPU flags keep working (`--use_tpu` implies `tpu`), and CPU-only
hosts can be split into logical devices (`--num_cpu_devices`) so
MirroredStrategy runs one replica per device, e.g. to check a multi-replica
setup on a laptop. Clusters describe themselves with TF_CONFIG
(multi_worker_mirrored).
"""

import dataclasses
import json
import os

from official.common import distribute_utils
import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.settings import setting

STRATEGIES = ("tpu", "mirrored", "multi_worker_mirrored", "one_device", "off")


@dataclasses.dataclass
class DistributionSettings:
  """The original TPU flags plus the TF2 strategy choice.

  A mixin: every job's settings that trains or predicts derives from it.
  """
  distribution_strategy: str | None = setting(
      None, "tf.distribute strategy. Default: tpu with --use_tpu, else "
      "mirrored when there are GPUs or --num_cpu_devices > 1, else "
      "one_device. multi_worker_mirrored reads the cluster from TF_CONFIG.",
      choices=STRATEGIES)
  use_tpu: bool = setting(False, "Whether to use TPU (original flag).")
  tpu_name: str | None = setting(
      None, "The Cloud TPU name or grpc:// address (original flag).")
  tpu_zone: str | None = setting(None, "GCE zone of the Cloud TPU.")
  gcp_project: str | None = setting(None, "GCP project of the Cloud TPU.")
  master: str | None = setting(
      None, "TensorFlow master URL (original flag); used as the TPU address "
      "when tpu_name is unset.")
  num_tpu_cores: int = setting(
      8, "TPU cores (original flag; the TPU strategy discovers the topology "
      "itself).")
  num_gpus: int | None = setting(
      None, "GPUs to use with mirrored (default: all visible).")
  num_cpu_devices: int = setting(
      1, "Split the host CPU into this many logical devices (mirrored "
      "without GPUs).")


def resolve_strategy_name(distribution_strategy, use_tpu, num_gpus,
                          num_cpu_devices):
  if use_tpu:
    if distribution_strategy not in (None, "tpu"):
      raise FlagError(f"--use_tpu conflicts with --distribution_strategy="
                       f"{distribution_strategy}")
    return "tpu"
  if distribution_strategy:
    return distribution_strategy
  if num_gpus or num_cpu_devices > 1:
    return "mirrored"
  return "one_device"


def configure_cpu_devices(num_cpu_devices):
  """Splits the first CPU into logical devices; must run before TF starts."""
  if num_cpu_devices <= 1:
    return
  cpu = tf.config.list_physical_devices("CPU")[0]
  current = tf.config.get_logical_device_configuration(cpu)
  if current and len(current) == num_cpu_devices:
    return
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices)


def create_strategy(distribution_strategy=None, use_tpu=False, tpu_name=None,
                    tpu_zone=None, gcp_project=None, master=None,
                    num_gpus=None, num_cpu_devices=1):
  """The tf.distribute.Strategy these settings ask for."""
  name = resolve_strategy_name(distribution_strategy, use_tpu, num_gpus,
                               num_cpu_devices)
  if name == "multi_worker_mirrored" and not os.environ.get("TF_CONFIG"):
    raise FlagError("--distribution_strategy=multi_worker_mirrored needs the "
                     "cluster in the TF_CONFIG environment variable")
  if name == "multi_worker_mirrored":
    _check_tf_config(os.environ["TF_CONFIG"])
  configure_cpu_devices(num_cpu_devices)
  if name == "tpu":
    tpu_address = tpu_name or master or ""
    try:
      return _tpu_strategy(tpu_address, tpu_zone, gcp_project)
    except (OSError, ValueError, RuntimeError, tf.errors.OpError) as e:
      # URLError (an OSError) from the metadata server lookup, gRPC errors
      # from the TPU itself: the TPU's location is the user's to fix, and a
      # traceback through urllib would not say so.
      raise FlagError(_tpu_unreachable(tpu_name, master, e)) from None
  if name == "mirrored":
    gpus = len(tf.config.list_physical_devices("GPU"))
    if num_gpus is None:
      num_gpus = gpus
    if num_gpus == 0:
      # distribute_utils would mirror over CPU:0 only.
      devices = [d.name for d in tf.config.list_logical_devices("CPU")]
      return tf.distribute.MirroredStrategy(devices=devices)
    return distribute_utils.get_distribution_strategy("mirrored",
                                                      num_gpus=num_gpus)
  if name == "one_device":
    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    return tf.distribute.OneDeviceStrategy(device)
  return distribute_utils.get_distribution_strategy(name)


def _tpu_strategy(tpu_address, tpu_zone, gcp_project):
  if tpu_zone or gcp_project:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=tpu_address, zone=tpu_zone, project=gcp_project)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  return distribute_utils.get_distribution_strategy(
      "tpu", tpu_address=tpu_address)


def _tpu_unreachable(tpu_name, master, error):
  """The one-line reason a TPU strategy could not be made."""
  reason = getattr(error, "reason", None) or getattr(
      error, "message", None) or str(error)
  reason = " ".join(str(reason).split())[:300]
  if not (tpu_name or master):
    return (f"--distribution_strategy=tpu: no TPU named and none found on "
            f"this machine ({reason}); pass --tpu_name")
  flag = f"--tpu_name={tpu_name}" if tpu_name else f"--master={master}"
  if "://" in (tpu_name or master):
    return f"{flag}: cannot connect to this TPU ({reason})"
  return (f"{flag}: cannot find this Cloud TPU ({reason}). TPU names are "
          "looked up through the Google Cloud metadata server, which answers "
          "only on Google Cloud VMs: run on a TPU VM (or a VM in the TPU's "
          "project and zone), or pass the TPU's address as "
          "--tpu_name=grpc://IP:8470")


def is_tpu_strategy(strategy):
  """Whether `strategy` runs on TPUs (static shapes: whole batches only)."""
  return isinstance(strategy, (tf.distribute.TPUStrategy,
                               tf.distribute.experimental.TPUStrategy))


def _check_tf_config(text):
  try:
    config = json.loads(text)
    config["cluster"]["worker"]  # pylint: disable=pointless-statement
    config["task"]["index"]  # pylint: disable=pointless-statement
  except (ValueError, KeyError, TypeError) as e:
    raise FlagError(
        "TF_CONFIG must be JSON like {\"cluster\": {\"worker\": [\"host:port\","
        " ...]}, \"task\": {\"type\": \"worker\", \"index\": 0}}; got "
        f"{text!r} ({e.__class__.__name__}: {e})") from None


def strategy_from_settings(settings):
  """The strategy a DistributionSettings (or a job's settings) asks for."""
  return create_strategy(settings.distribution_strategy, settings.use_tpu,
                         settings.tpu_name, settings.tpu_zone,
                         settings.gcp_project, settings.master,
                         settings.num_gpus, settings.num_cpu_devices)
