"""The original ALBERT optimizers and learning-rate schedule, for tf_keras.

The original (optimization.py + lamb_optimizer.py) differs from the stock
Keras / Model Garden LAMB and AdamW in ways that change the trajectory, so the
math is written out here:

- Adam moments WITHOUT bias correction: update = m / (sqrt(v) + eps).
- Weight decay is added to the update (decay * w), before the LAMB trust
  ratio, and skipped for variables whose original name contains
  "LayerNorm", "layer_norm" or "bias" (the same names skip the trust ratio).
- LAMB trust ratio ||w|| / ||update||, 1.0 when either norm is 0.
- Gradients clipped to global norm 1.0.
- Learning rate: polynomial decay evaluated at the raw global step over
  (num_train_steps - start_warmup_step) steps, replaced during warmup by
  init_lr * (step - start_warmup_step) / num_warmup_steps. Step 0 therefore
  trains with learning rate 0, as in the original.

Fine-tuning departs from this by default (docs/original_quirks.md, "Fine-tuning
recipe"): `bias_correction=True` divides m and v by (1 - beta^t) as Adam
does, and `learning_rate_multipliers` scales the rate per variable (the task
head faster than the pretrained encoder). With neither, the update is the
original's, bit for bit.

Exclusions are decided on the ORIGINAL variable names (`bert/...`, `cls/...`)
when a `variable_names` map is given (run_pretraining passes
checkpoints.tf1_variable_map), else on the Keras variable name.
"""

import re

import tensorflow as tf
import tf_keras

DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
OPTIMIZERS = ("lamb", "adamw")


class WarmupPolynomialDecay(
    tf_keras.optimizers.schedules.LearningRateSchedule):
  """The original schedule: linear warmup, then polynomial decay to 0."""

  def __init__(self, initial_learning_rate, num_train_steps,
               num_warmup_steps=0, start_warmup_step=0, poly_power=1.0,
               name="WarmupPolynomialDecay"):
    super().__init__()
    if num_train_steps - start_warmup_step <= 0:
      raise ValueError(
          f"num_train_steps ({num_train_steps}) must exceed start_warmup_step "
          f"({start_warmup_step})")
    if not poly_power > 0:
      raise ValueError(f"poly_power must be positive, got {poly_power}: the "
                       "rate would rise above its peak instead of decaying")
    self.initial_learning_rate = initial_learning_rate
    self.num_train_steps = num_train_steps
    self.num_warmup_steps = num_warmup_steps
    self.start_warmup_step = start_warmup_step
    self.poly_power = poly_power
    self.name = name

  def __call__(self, step):
    with tf.name_scope(self.name):
      init_lr = tf.constant(self.initial_learning_rate, tf.float32)
      step = tf.cast(step, tf.float32)
      decay_steps = float(self.num_train_steps - self.start_warmup_step)
      # tf.compat.v1.train.polynomial_decay with end_learning_rate 0, no cycle.
      decayed = init_lr * tf.pow(
          1.0 - tf.minimum(step, decay_steps) / decay_steps, self.poly_power)
      if not self.num_warmup_steps:
        return decayed
      steps_into_warmup = step - float(self.start_warmup_step)
      warmup_lr = init_lr * steps_into_warmup / float(self.num_warmup_steps)
      is_warmup = tf.cast(steps_into_warmup < self.num_warmup_steps,
                          tf.float32)
      return (1.0 - is_warmup) * decayed + is_warmup * warmup_lr

  def get_config(self):
    return {"initial_learning_rate": self.initial_learning_rate,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
            "start_warmup_step": self.start_warmup_step,
            "poly_power": self.poly_power, "name": self.name}


class AlbertOptimizer(tf_keras.optimizers.Optimizer):
  """LAMB (`layer_adaptation=True`) or AdamW, with the original's math.

  Slots are `m` and `v` per variable. Clipping to `global_clipnorm` is done by
  the Keras base class after the cross-replica gradient sum, so every
  distribution strategy clips the same global-batch gradient (the original's
  TPU path clipped each shard's gradient before CrossShardOptimizer averaged
  them; on one device the two are identical).
  """

  def __init__(self, learning_rate, layer_adaptation=True,
               weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
               exclude_from_weight_decay=DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
               exclude_from_layer_adaptation=None, variable_names=None,
               global_clipnorm=1.0, bias_correction=False,
               learning_rate_multipliers=None, name=None, **kwargs):
    super().__init__(
        name=name or ("LAMB" if layer_adaptation else "AdamWeightDecay"),
        global_clipnorm=global_clipnorm, **kwargs)
    self._learning_rate = self._build_learning_rate(learning_rate)
    self.layer_adaptation = layer_adaptation
    self.weight_decay_rate = weight_decay_rate
    self.beta_1 = beta_1
    self.beta_2 = beta_2
    self.epsilon = epsilon
    # Adam's (1 - beta^t) corrections, which the original leaves out: its
    # first updates are up to 6x larger than Adam's (t = 10: 0.65 / 0.0998).
    self.bias_correction = bias_correction
    # {variable.ref(): factor on the learning rate}; 1.0 when absent.
    self.learning_rate_multipliers = dict(learning_rate_multipliers or {})
    self.exclude_from_weight_decay = tuple(exclude_from_weight_decay or ())
    # The original lamb_optimizer defaults these to the weight-decay ones.
    self.exclude_from_layer_adaptation = tuple(
        self.exclude_from_weight_decay if exclude_from_layer_adaptation is None
        else exclude_from_layer_adaptation)
    # {variable.ref(): original name}; refs of the (possibly distributed)
    # variables the optimizer is built with.
    self.variable_names = dict(variable_names or {})
    self._decay_variable = {}
    self._adapt_variable = {}
    self._rate_multiplier = {}

  def original_name(self, variable):
    name = self.variable_names.get(variable.ref())
    if name is None:
      name = variable.name
      name = name[:-2] if name.endswith(":0") else name
    return name

  def uses_weight_decay(self, name):
    return bool(self.weight_decay_rate) and not any(
        re.search(pattern, name) for pattern in self.exclude_from_weight_decay)

  def uses_layer_adaptation(self, name):
    return self.layer_adaptation and not any(
        re.search(pattern, name)
        for pattern in self.exclude_from_layer_adaptation)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self._built = True
    self._m = []
    self._v = []
    for variable in var_list:
      self._m.append(self.add_variable_from_reference(variable, "m"))
      self._v.append(self.add_variable_from_reference(variable, "v"))
      name = self.original_name(variable)
      key = self._var_key(variable)
      self._decay_variable[key] = self.uses_weight_decay(name)
      self._adapt_variable[key] = self.uses_layer_adaptation(name)
      self._rate_multiplier[key] = float(
          self.learning_rate_multipliers.get(variable.ref(), 1.0))

  def update_step(self, gradient, variable):
    if isinstance(gradient, tf.IndexedSlices):
      gradient = tf.convert_to_tensor(gradient)
    key = self._var_key(variable)
    index = self._index_dict[key]
    m, v = self._m[index], self._v[index]
    lr = tf.cast(self.learning_rate, variable.dtype)
    gradient = tf.cast(gradient, variable.dtype)
    m.assign(self.beta_1 * m + (1.0 - self.beta_1) * gradient)
    v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(gradient))
    if self.bias_correction:
      step = tf.cast(self.iterations + 1, variable.dtype)
      m_hat = m / (1.0 - tf.pow(tf.cast(self.beta_1, variable.dtype), step))
      v_hat = v / (1.0 - tf.pow(tf.cast(self.beta_2, variable.dtype), step))
      update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
    else:
      update = m / (tf.sqrt(v) + self.epsilon)
    if self._decay_variable[key]:
      update += self.weight_decay_rate * variable
    ratio = 1.0
    if self._adapt_variable[key]:
      w_norm = tf.norm(variable, ord=2)
      u_norm = tf.norm(update, ord=2)
      ratio = tf.where(w_norm > 0.0,
                       tf.where(u_norm > 0.0, w_norm / u_norm, 1.0), 1.0)
    multiplier = self._rate_multiplier[key]
    if multiplier != 1.0:
      lr = lr * multiplier
    variable.assign_sub(ratio * lr * update)

  def get_config(self):
    config = super().get_config()
    config.update({
        "learning_rate": self._serialize_hyperparameter(self._learning_rate),
        "layer_adaptation": self.layer_adaptation,
        "weight_decay_rate": self.weight_decay_rate,
        "beta_1": self.beta_1, "beta_2": self.beta_2,
        "epsilon": self.epsilon,
        "bias_correction": self.bias_correction,
        "exclude_from_weight_decay": self.exclude_from_weight_decay,
        "exclude_from_layer_adaptation": self.exclude_from_layer_adaptation,
    })
    return config


def create_optimizer(optimizer="lamb", learning_rate=0.00176,
                     num_train_steps=125000, num_warmup_steps=3125,
                     start_warmup_step=0, poly_power=1.0,
                     weight_decay_rate=0.01, variable_names=None,
                     bias_correction=False, learning_rate_multipliers=None):
  """The original create_optimizer: schedule + LAMB or AdamW, clip 1.0.

  bias_correction and learning_rate_multipliers: see AlbertOptimizer (off
  and empty: the original's update).
  """
  if optimizer not in OPTIMIZERS:
    raise ValueError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, "
                     f"got {optimizer!r}")
  schedule = WarmupPolynomialDecay(learning_rate, num_train_steps,
                                   num_warmup_steps, start_warmup_step,
                                   poly_power)
  return AlbertOptimizer(schedule, layer_adaptation=optimizer == "lamb",
                         weight_decay_rate=weight_decay_rate,
                         variable_names=variable_names,
                         bias_correction=bias_correction,
                         learning_rate_multipliers=learning_rate_multipliers)
