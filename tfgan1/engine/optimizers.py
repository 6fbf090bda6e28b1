"""The optimizers of a run, by role: one `joint` optimizer over D's and G's
weights, or one per network (`d`, `g`), built from the config's sections.

Which a run gets is its update rule's call (`UpdateRule.joint_optimizer`), unless
the config gives `d_optimizer` / `g_optimizer` (TTUR), which always splits them.
"""
import collections.abc
import inspect

from tfgan1 import config as config_lib
from tfgan1 import tfimport
from tfgan1.engine import distribute
from tfgan1.engine.plugin_calls import construct
from tfgan1.engine import schedules
from tfgan1.engine.rules import rule_class
from tfgan1.errors import UserError

tf = tfimport.tensorflow()
keras = tfimport.keras()


class OptimizerRoles(collections.abc.Mapping):
  """{"joint": opt} or {"d": opt, "g": opt}, and how a rule applies gradients."""

  def __init__(self, joint=None, d=None, g=None):
    if (joint is None) == (d is None or g is None):
      raise ValueError("OptimizerRoles: give joint, or d and g")
    self._roles = {"joint": joint} if joint is not None else {"d": d, "g": g}

  @property
  def joint(self):
    return "joint" in self._roles

  def __getitem__(self, role):
    return self._roles[role]

  def __iter__(self):
    return iter(self._roles)

  def __len__(self):
    return len(self._roles)

  def build(self, d_vars, g_vars):
    if self.joint:
      self["joint"].build(d_vars + g_vars)
    else:
      self["d"].build(d_vars)
      self["g"].build(g_vars)

  def apply(self, d_grads, g_grads, d_vars, g_vars):
    """Both networks' gradients: one update of the joint optimizer, or one each."""
    if self.joint:
      _apply(self["joint"], d_grads + g_grads, d_vars + g_vars)
    else:
      self.apply_d(d_grads, d_vars)
      self.apply_g(g_grads, g_vars)

  def apply_d(self, grads, variables):
    _apply(self["d"], grads, variables)

  def apply_g(self, grads, variables):
    _apply(self["g"], grads, variables)

  def rates(self):
    """{"lr": ...} for a joint optimizer, else {"lr_d": ..., "lr_g": ...}, read now."""
    def rate(opt):
      return tf.cast(tf.convert_to_tensor(opt.learning_rate), tf.float32)
    if self.joint:
      return {"lr": rate(self["joint"])}
    return {f"lr_{role}": rate(opt) for role, opt in self.items()}


def _apply(optimizer, grads, variables):
  grads = distribute.scale_gradients(grads)  # replicas: mean over the global batch
  optimizer.apply_gradients(zip(grads, variables))


def joint(config):
  """True when one optimizer updates both networks (see the module doc)."""
  return (rule_class(config.train.rule).joint_optimizer
          and config.g_optimizer is None and config.d_optimizer is None)


def _classes():
  skip = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer"}  # wrappers, not rules
  return {n.lower(): c for n, c in vars(keras.optimizers).items()
          if inspect.isclass(c) and issubclass(c, keras.optimizers.Optimizer)
          and n not in skip}


def optimizer(spec, field, updates_per_step=1):
  """A Keras optimizer from `{name, learning_rate, **kwargs}`; the learning rate
  may be a schedule, read at the optimizer's own (checkpointed) iteration count
  // `updates_per_step` (see `schedules.make`)."""
  classes = _classes()
  if spec.name.lower() not in classes:
    raise UserError(f"{field}.name: {spec.name!r} is not allowed; choose one of: "
                    f"{', '.join(sorted(classes))}")
  return construct(field, spec.name, classes[spec.name.lower()], (),
                   {"learning_rate": schedules.make(spec.learning_rate, updates_per_step),
                    **dict(spec.kwargs)})


def reapply_learning_rates(config, roles):
  """Sets each constant learning rate to the config's: Keras 3 keeps it in a
  checkpointed variable, so a restore would bring back the old run's rate."""
  specs = ({"joint": config.optimizer} if roles.joint else
           dict(zip(("d", "g"), config_lib.network_optimizers(config))))
  for role, opt in roles.items():
    rate = specs[role].learning_rate
    if isinstance(rate, (int, float)):  # a schedule is computed from the step, not stored
      opt.learning_rate = rate


def make(config):
  """The run's OptimizerRoles."""
  if joint(config):
    return OptimizerRoles(joint=optimizer(config.optimizer, "optimizer"))
  rule, train = rule_class(config.train.rule), config.train
  d_spec, g_spec = config_lib.network_optimizers(config)
  return OptimizerRoles(d=optimizer(d_spec, "d_optimizer", rule.updates_per_step(train, "d")),
                        g=optimizer(g_spec, "g_optimizer", rule.updates_per_step(train, "g")))
