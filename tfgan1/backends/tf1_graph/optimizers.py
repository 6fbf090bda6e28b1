"""`tf.compat.v1.train` optimizers from the same `optimizer:` config as Keras'.

Only the rules with a TF1 twin that takes the same hyper-parameters are offered;
anything else is a one-line error naming the key. How each differs from the
Keras 3 optimizer of the same name (with the same arguments):

- `sgd`: GradientDescentOptimizer, or MomentumOptimizer with `momentum` > 0.
  Keras keeps -lr * accum where TF1 keeps accum; the same step for a fixed lr.
- `adam`: AdamOptimizer with beta_1/beta_2/epsilon renamed. Both use "epsilon
  hat" (lr_t * m / (sqrt(v) + eps)); only Keras' default epsilon (1e-7, passed
  here) differs from TF1's (1e-8). Float rounding differs slightly.
- `rmsprop`: RMSPropOptimizer, which adds epsilon *inside* the square root and
  starts its mean square at 1, not 0: a different step, most of all early on.

A learning-rate schedule is the TF2 backend's Keras schedule object
(`tfgan1.engine.schedules`), read in the graph at an update counter of the
optimizer's own, as Keras reads its `iterations`: the same rate at every step,
and the counter is checkpointed with the optimizer's slots.
"""
from tfgan1 import config as config_lib
from tfgan1 import tfimport
from tfgan1.engine import optimizers
from tfgan1.engine import schedules
from tfgan1.engine.rules import rule_class
from tfgan1.errors import UserError

tf = tfimport.tensorflow()

# name -> (TF1 class name, {Keras argument: (TF1 argument, Keras default)})
_RULES = {
    "sgd": ("GradientDescentOptimizer", {"momentum": ("momentum", 0.0),
                                         "nesterov": ("use_nesterov", False)}),
    "adam": ("AdamOptimizer", {"beta_1": ("beta1", 0.9), "beta_2": ("beta2", 0.999),
                               "epsilon": ("epsilon", 1e-7)}),
    "rmsprop": ("RMSPropOptimizer", {"rho": ("decay", 0.9), "momentum": ("momentum", 0.0),
                                     "epsilon": ("epsilon", 1e-7),
                                     "centered": ("centered", False)}),
}
NAMES = tuple(sorted(_RULES))


def check(spec, field):
  """Raises UserError unless `spec` has a TF1 twin; returns (class name, kwargs)."""
  name = spec.name.lower()
  if name not in _RULES:
    raise UserError(f"{field}.name: {spec.name!r} has no tf.compat.v1 twin for "
                    f"train.backend=tf1_graph; choose one of: {', '.join(sorted(_RULES))}")
  cls, args = _RULES[name]
  unknown = sorted(set(spec.kwargs) - set(args))
  if unknown:
    raise UserError(f"{field}.{unknown[0]}: not supported by {spec.name!r} with "
                    f"train.backend=tf1_graph; allowed: {', '.join(sorted(args))}")
  kwargs = {tf1: spec.kwargs.get(keras, default) for keras, (tf1, default) in args.items()}
  if name == "sgd":
    if kwargs["momentum"]:
      cls = "MomentumOptimizer"
    else:
      kwargs = {}
  return cls, kwargs


class Solver:
  """One role's v1 optimizer, its update counter and the rate it reads from it.

  `updates` counts the optimizer's applies (Keras' `iterations`); `rate` is the
  learning rate (a float32 tensor) of the next apply: the schedule at
  updates // `updates_per_step`, as the TF2 backend's `schedules.make`.
  """

  def __init__(self, spec, field, role, updates_per_step):
    cls, kwargs = check(spec, field)
    self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name=f"updates_{role}")
    rate = schedules.make(spec.learning_rate, updates_per_step)
    self.rate = tf.cast(rate(self.updates) if callable(rate) else tf.constant(rate), tf.float32)
    self.optimizer = getattr(tf.compat.v1.train, cls)(self.rate, **kwargs)

  def apply(self, grads, variables, name):
    """The optimizer's update, then the counter's."""
    step = self.optimizer.apply_gradients(zip(grads, variables), name=name)
    with tf.control_dependencies([step]):
      return tf.group(step, self.updates.assign_add(1))


def check_all(config):
  """The optimizer sections as the TF1 backend would build them, or a UserError."""
  for field, spec in _specs(config).items():
    check(spec, field)


def make(config):
  """{"joint": Solver} when one optimizer updates both networks, else {"d": .., "g": ..}."""
  rule = rule_class(config.train.rule)
  return {role: Solver(spec, field, role, 1 if role == "joint"
                       else rule.updates_per_step(config.train, role))
          for (field, spec), role in zip(_specs(config).items(), _roles(config))}


def rates(solvers):
  """{"lr": ...} or {"lr_d": ..., "lr_g": ...}: the metrics TF2 reports."""
  if "joint" in solvers:
    return {"lr": solvers["joint"].rate}
  return {f"lr_{role}": s.rate for role, s in solvers.items()}


def _roles(config):
  return ("joint",) if optimizers.joint(config) else ("d", "g")


def _specs(config):
  if optimizers.joint(config):
    return {"optimizer": config.optimizer}
  d_spec, g_spec = config_lib.network_optimizers(config)
  return {"d_optimizer": d_spec, "g_optimizer": g_spec}
