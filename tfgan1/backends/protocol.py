"""The contract of a train backend: what the run loop, the checkpoints and the
tools may ask of it, and the list of what it supports (its refusals follow).

A backend is built from a checked config before the workdir is touched, and
offers:
  `config`, `data` (the dataset plugin), `rng` (the noise tf.random.Generator),
  `iterator` (the data iterator), `checkpoint` (a tf.train.Checkpoint in the
  layout of `checkpoint_parts`), `networks` (the Keras 3 `Networks` record),
  `ema` (the GeneratorEMA or None), `optimizers` (role -> its variables' owner);
  `step()` the finished step count; `train(count)` that many steps, the last one's
  metrics (scalar tensors); `check_finite()` at logging steps (raises
  NonFiniteStop); `sampler()` the generator that samples and is evaluated;
  `sample(num, seed, labels=None)`; `before_save(step)`, `after_restore()` and
  `saved_variables()` for a checkpoint write; `verify(config)`, a classmethod.
"""
import abc
import dataclasses
from typing import Tuple

from tfgan1 import tfimport
from tfgan1.errors import UserError
from tfgan1.evaluation import sampling
from tfgan1.registry import ARCHITECTURES, RULE_MODULES, tf1

# What TF1 network functions cannot have under any backend: no Keras model to copy
# (EMA), to feed labels to, or to pass kwargs to (`tfgan1.backends.tf1_graph.functions`).
TF1_FUNCTION_LIMITS = "without ema, labelled data or kwargs"

tf = tfimport.tensorflow()


@dataclasses.dataclass(frozen=True)
class Supports:
  """What a backend can run; `check` refuses the rest, one line naming the key.

  `optimizers` and `eager_plugins` are declared here and checked by the backend
  (its refusal names the optimizer's or plugin's own key); `limits()` lists them all.
  """
  rules: Tuple[str, ...]
  jit_compile: bool = True
  precisions: Tuple[str, ...] = ()  # () : any
  strategies: Tuple[str, ...] = ()  # () : any
  on_nonfinite: Tuple[str, ...] = ("stop", "skip")
  optimizers: Tuple[str, ...] = ()  # () : any Keras optimizer
  eager_plugins: bool = True  # plugins that set `needs_eager = True`
  augment: bool = True  # an `augment:` section (DiffAugment, ADA)
  # architectures given as two plain TF1 functions (`tfgan1.tf1_networks`)
  tf1_functions: bool = False

  def limits(self):
    """{config key: what the backend allows there}, for each key it refuses
    some values of (what `--list_plugins` shows and the docs list)."""
    out = {}
    if set(RULE_MODULES) - set(self.rules):
      out["train.rule"] = ", ".join(self.rules)
    if not self.jit_compile:
      out["train.jit_compile"] = "false"
    for key, allowed in (("precision.name", self.precisions),
                         ("distribute.strategy", self.strategies),
                         ("train.on_nonfinite", self.on_nonfinite)):
      if allowed and (key != "train.on_nonfinite" or len(allowed) < 2):
        out[key] = ", ".join(allowed)
    if self.optimizers:
      out["optimizer"] = f"{', '.join(self.optimizers)} (d_optimizer, g_optimizer too)"
    if not self.augment:
      out["augment"] = "null (no augmentation)"
    if not self.eager_plugins:
      out["plugins"] = "none that sets needs_eager = True (loss, penalty, architecture)"
    out["architecture"] = ("Keras builders, or tf1_networks' TF1 functions " + TF1_FUNCTION_LIMITS
                           if self.tf1_functions else "Keras builders (not tf1_networks')")
    return out

  def check(self, config, backend):
    where = f"is not supported with train.backend={backend}"
    train = config.train
    if train.rule not in self.rules:
      raise UserError(f"train.rule: {train.rule!r} {where}; allowed: {', '.join(self.rules)}")
    if train.jit_compile and not self.jit_compile:
      raise UserError(f"train.jit_compile: True {where}; set it to false (XLA compiles "
                      "tf.function steps, which this backend has none of)")
    precision = config.precision.name if config.precision else "float32"
    if self.precisions and precision not in self.precisions:
      raise UserError(f"precision.name: {precision!r} {where}; allowed: "
                      f"{', '.join(self.precisions)}")
    if config.augment is not None and not self.augment:
      raise UserError(f"augment: {config.augment.policy!r} {where}; remove the augment section "
                      "or use train.backend=tf2")
    strategy = config.distribute.strategy
    if self.strategies and strategy not in self.strategies:
      raise UserError(f"distribute.strategy: {strategy!r} {where}; allowed: "
                      f"{', '.join(self.strategies)}")
    if train.on_nonfinite not in self.on_nonfinite:
      raise UserError(f"train.on_nonfinite: {train.on_nonfinite!r} {where}; allowed: "
                      f"{', '.join(self.on_nonfinite)}")
    for field in ("generator", "discriminator"):
      name = getattr(config, field).name
      if not self.tf1_functions and tf1.is_tf1_functions(ARCHITECTURES.get(name, f"{field}.name")):
        raise UserError(f"{field}.name: {name!r} {where}; it is a pair of TF1 functions "
                        "(tf1_networks), which train.backend=tf1_graph runs")


def checkpoint_parts(step, networks, optimizers, ema, rng, iterator, loss_scale):
  """The parts of every backend's checkpoint, under the names runs have always used.

  `optimizers` maps role to optimizer; the joint one is saved as
  `optimizer_shared`, its name before roles had names of their own.
  """
  parts = dict(step=step, generator=networks.generator,
               discriminator=networks.discriminator, noise_rng=rng, loss_scale=loss_scale)
  for role, opt in optimizers.items():
    parts[f"optimizer_{'shared' if role == 'joint' else role}"] = opt
  if ema is not None:
    parts["ema_generator"] = ema.model
  if iterator is not None:
    parts["data"] = iterator
  state = networks.state()
  if state:  # only runs with stateful regularisers (LeCam, ADA): older runs read as before
    parts["regularisers"] = tf.train.Checkpoint(**state)
  return parts


class Backend(abc.ABC):
  """A train backend (see the module doc). Subclasses set `name` and `supports`."""
  name = None
  supports = None

  def step(self):
    return int(self.step_variable.numpy())

  @abc.abstractmethod
  def train(self, count):
    """Runs `count` train steps; returns the last one's metrics."""

  @abc.abstractmethod
  def sampler(self):
    """The generator that samples and is evaluated (the EMA one when kept)."""

  def check_finite(self):
    """Raises NonFiniteStop when a step asked the run to stop (at logging steps)."""

  def before_save(self, step):
    """Brings the checkpointed variables up to date before a write at `step`."""

  def after_restore(self):
    """Re-applies what the config sets but a restore overwrote (a changed
    constant learning rate, when the change was allowed)."""

  def saved_variables(self):
    """The variables of the networks, the EMA generator and the optimizers,
    which a checkpoint holds (checked finite before a write). Subclasses set
    `networks`, `ema` (or None) and `optimizers` ({role: an object with `variables`})."""
    models = [self.networks.generator, self.networks.discriminator]
    if self.ema is not None:
      models.append(self.ema.model)
    return ([v for m in models for v in m.variables]
            + [v for opt in self.optimizers.values() for v in opt.variables])

  def sample(self, num, seed, labels=None):
    """`num` samples of the sampler as float32 numpy; a conditional run cycles
    through the classes when no `labels` are given."""
    classes = self.data.spec.num_classes
    if classes and labels is None:
      labels = sampling.class_labels(num, classes)
    return sampling.sample(self.config, self.sampler(), num, seed, labels)

  @classmethod
  @abc.abstractmethod
  def verify(cls, config):
    """`--verify`: prints a JSON report; returns the exit code (0: the rules agree)."""
