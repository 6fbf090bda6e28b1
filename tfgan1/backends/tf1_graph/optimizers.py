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
"""
from tfgan1 import config as config_lib
from tfgan1 import tfimport
from tfgan1.engine import optimizers
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
  if hasattr(spec.learning_rate, "keys"):  # a schedule reads its optimizer's own
    # update count, which the tf.compat.v1 optimizers do not keep
    raise UserError(f"{field}.learning_rate: a schedule ({spec.learning_rate['schedule']}) "
                    "is not supported with train.backend=tf1_graph; give a number where "
                    f"it is set, e.g. --set optimizer.learning_rate={spec.learning_rate['value']}")
  kwargs = {tf1: spec.kwargs.get(keras, default) for keras, (tf1, default) in args.items()}
  if name == "sgd":
    if kwargs["momentum"]:
      cls = "MomentumOptimizer"
    else:
      kwargs = {}
  return cls, kwargs


def make_one(spec, field):
  cls, kwargs = check(spec, field)
  return getattr(tf.compat.v1.train, cls)(spec.learning_rate, **kwargs)


def check_all(config):
  """The optimizer sections as the TF1 backend would build them, or a UserError."""
  for field, spec in _specs(config).items():
    check(spec, field)


def make(config):
  """{"joint": opt} when one optimizer updates both networks, else {"d": opt, "g": opt}."""
  return {role: make_one(spec, field)
          for (field, spec), role in zip(_specs(config).items(), _roles(config))}


def _roles(config):
  return ("joint",) if optimizers.joint(config) else ("d", "g")


def _specs(config):
  if optimizers.joint(config):
    return {"optimizer": config.optimizer}
  d_spec, g_spec = config_lib.network_optimizers(config)
  return {"d_optimizer": d_spec, "g_optimizer": g_spec}
