"""The run config: YAML parsed once into frozen dataclasses, checked at load.

Unknown keys (with a did-you-mean), wrong types and out-of-range values raise a
one-line `UserError` naming the key, the value and what is allowed, before any
workdir is created. Plugin sections are `{name: ..., **kwargs}`; the kwargs reach
the plugin unchanged, checked against its signature when it is built.
"""
import dataclasses
import os
import types
from typing import Any, Mapping, Optional, Tuple

from tfgan1.config import paths
from tfgan1.config import schedules
from tfgan1.config import yamlio
from tfgan1.config.schema import build, check_tree, set_override
from tfgan1.errors import UserError
from tfgan1.registry import BACKEND_MODULES, RULE_MODULES

def _no_kwargs():
  return dataclasses.field(default_factory=lambda: types.MappingProxyType({}))


def _field(default, doc="", **checks):
  """A dataclass field whose metadata carries its checks (min, gt, choices, key)."""
  return dataclasses.field(default=default, metadata=dict(doc=doc, **checks))


@dataclasses.dataclass(frozen=True)
class PluginSpec:
  """`{name: ..., **kwargs}`: which registered plugin, and its keyword arguments."""
  name: str
  kwargs: Mapping[str, Any] = _no_kwargs()


@dataclasses.dataclass(frozen=True)
class PenaltySpec:
  """A penalty plugin, its weight, and `every` (lazy regularisation, weight x every)."""
  name: str
  weight: float = _field(1.0, min=0.0)
  every: int = _field(1, "apply every k steps, at weight x k", min=1)
  kwargs: Mapping[str, Any] = _no_kwargs()


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
  """A Keras optimizer by name (`adam`, `sgd`, `rmsprop`, ...) and its kwargs.

  `learning_rate` is a number or a schedule mapping (`tfgan1.config.schedules`).
  """
  name: str = "adam"
  learning_rate: Any = _field(2e-4, "a number or {schedule: ...}",
                              parse=schedules.parse)
  kwargs: Mapping[str, Any] = _no_kwargs()


@dataclasses.dataclass(frozen=True)
class NoiseConfig:
  dim: int = _field(64, "latent size", min=1)
  distribution: str = _field("normal", choices=("normal", "uniform"))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How the networks are updated and how often the loop reports."""
  rule: str = _field("one_step", "update rule (tfgan1.registry.RULE_MODULES)",
                     choices=tuple(RULE_MODULES))
  one_step_form: str = _field(
      "fused", "classic: 3 D calls; stateless: G term calls D with "
      "stop-gradient weights; fused: 2 D calls, one D(G(z)) with routed gradients; "
      "shared: fused with one backward pass through D(G(z)) (D must score each sample alone)",
      choices=("classic", "fused", "shared", "stateless"))
  steps: int = _field(10000, "train steps (alternating: iterations)", min=1)
  batch_size: int = _field(64, min=1)
  lambda_: float = _field(1.0, "G weight in the one-step loss", gt=0.0,
                          key="lambda")
  g_top_k: float = _field(
      1.0, "top-k G update (Sinha et al. 2020): L_G reads only this fraction of the "
      "fake batch, the samples D scores highest; 1: all", gt=0.0, max=1.0)
  n_d: int = _field(1, "alternating: D updates per iteration", min=1)
  n_g: int = _field(1, "alternating: G updates per iteration", min=1)
  jit_compile: bool = _field(False, "XLA-compile the train step")
  steps_per_call: int = _field(
      1, "train steps per tf.function call, up to the next log, sample, checkpoint or "
      "eval step (Keras' steps_per_execution); the same results as 1, less per-step "
      "overhead; tf1_graph runs them one session call each", min=1)
  on_nonfinite: str = _field(
      "stop", "a step with a non-finite loss or gradient is skipped on device; stop: "
      "end the run (exit 1) at the next log; skip: go on", choices=("stop", "skip"))
  max_skipped_steps: int = _field(
      50, "on_nonfinite=skip: stop after more than this many skipped steps in a row",
      min=0)
  backend: str = _field("tf2", "tf2: the eager engine under tf.function; tf1_graph: "
                        "a tf.compat.v1 graph and session", choices=tuple(BACKEND_MODULES))
  log_every: int = _field(100, min=1)
  checkpoint_every: int = _field(1000, min=1)
  keep_checkpoints: int = _field(3, min=1)
  sample_every: int = _field(1000, min=1)
  histogram_every: int = _field(0, "TensorBoard weight histograms; 0: off", min=0)


# tfgan1.gan.augment.OPS: DiffAugment's three, then ADA's (Karras et al. 2020).
AUGMENT_OPS = ("color", "translation", "cutout", "xflip", "rotate90", "brightness",
               "contrast", "lumaflip", "hue", "saturation", "noise", "scale", "rotate",
               "aniso", "xfrac", "imgfilter")
# `policy: ada`: ADA's pipeline order, of the ops implemented here (guide: regularisers).
ADA_POLICY = ("xflip,rotate90,translation,scale,rotate,aniso,xfrac,brightness,contrast,"
              "lumaflip,hue,saturation,imgfilter,noise,cutout")


def _augment_policy(value, path):
  """`"color,translation,cutout"`: a comma list of distinct AUGMENT_OPS names, or `ada`."""
  if value == "ada":
    return ADA_POLICY
  names = [n.strip() for n in value.split(",")] if isinstance(value, str) else None
  if not names or any(n not in AUGMENT_OPS for n in names) or len(set(names)) < len(names):
    raise UserError(f"{path}: {value!r} is not allowed; expected 'ada' or distinct names "
                    f"from {', '.join(AUGMENT_OPS)}, comma-separated")
  return ",".join(names)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  """Augmentation before every D call (`tfgan1.gan.augment`); images only.

  DiffAugment (a fixed `p`) or, with `adaptive`, ADA: `p` is the starting
  probability, moved every `interval` steps towards E[sign(D(x))] = `target`
  by batch x interval / (kimg x 1000).
  """
  policy: str = _field("color,translation,cutout", parse=_augment_policy)
  p: float = _field(1.0, "chance that an image gets each op (ADA: its start)",
                    min=0.0, max=1.0)
  adaptive: bool = _field(False, "ADA: adapt p to D's overfitting")
  target: float = _field(0.6, "ADA: the wanted E[sign(D(real))]", gt=0.0, lt=1.0)
  kimg: float = _field(500.0, "ADA: thousands of images for p to move by 1", gt=0.0)
  interval: int = _field(4, "ADA: steps between adjustments of p", min=1)


@dataclasses.dataclass(frozen=True)
class EmaConfig:
  """Exponential moving average of G's weights, used to sample and evaluate."""
  decay: float = _field(0.999, gt=0.0, lt=1.0)
  start: int = _field(0, "steps before averaging starts (a plain copy)", min=0)
  bn_batches: int = _field(
      16, "batches of fresh noise that re-estimate the EMA generator's BatchNorm "
      "statistics before it samples, evaluates or is saved; 0 copies G's", min=0)


@dataclasses.dataclass(frozen=True)
class BestConfig:
  """Keep the checkpoint with the best `metric` in checkpoints/best/."""
  metric: str
  mode: str = _field("min", "min: lower is better; max: higher", choices=("min", "max"))


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """Evaluators run on G's samples (the EMA generator when there is one)."""
  every: int = _field(0, "0: evaluate only at the end", min=0)
  num_samples: int = _field(2500, "generated samples per evaluation", min=2)
  # None: the dataset's default evaluators; [] turns evaluation off.
  metrics: Optional[Tuple[PluginSpec, ...]] = None
  best: Optional[BestConfig] = None


@dataclasses.dataclass(frozen=True)
class DistributeConfig:
  """Which tf.distribute strategy runs the step (`tfgan1.engine.distribute`)."""
  strategy: str = _field(
      "default", "default: one device; mirrored: all local GPUs (or `devices`); "
      "multi_worker: from TF_CONFIG; tpu: TPUStrategy (untested)",
      choices=("default", "mirrored", "multi_worker", "tpu"))
  devices: Tuple[str, ...] = _field((), "mirrored: devices to use, e.g. [/gpu:0, /gpu:1]")
  sync_batch_norm: bool = _field(
      False, "BatchNormalization layers use global-batch statistics across replicas")
  peer_timeout_s: int = _field(
      60, "multi_worker: seconds without a heartbeat before a worker counts as dead", min=5)


@dataclasses.dataclass(frozen=True)
class Config:
  """A whole run. `generator`, `discriminator`, `loss` and `data` are required."""
  generator: PluginSpec
  discriminator: PluginSpec
  loss: PluginSpec
  data: PluginSpec
  seed: int = _field(0, min=0, max=2**32 - 1)  # tf.random seeds are uint32
  plugins: Tuple[str, ...] = ()
  penalties: Tuple[PenaltySpec, ...] = ()
  noise: NoiseConfig = NoiseConfig()
  train: TrainConfig = TrainConfig()
  optimizer: OptimizerSpec = OptimizerSpec()
  g_optimizer: Optional[Mapping[str, Any]] = None
  d_optimizer: Optional[Mapping[str, Any]] = None
  eval: EvalConfig = EvalConfig()
  ema: Optional[EmaConfig] = None
  augment: Optional[AugmentConfig] = None
  precision: Optional[PluginSpec] = None  # None: Keras' default float policy
  distribute: DistributeConfig = DistributeConfig()


def from_dict(raw, overrides=()):
  """Builds a checked Config from parsed YAML and `a.b=v` override strings.

  Relative paths left in `raw` (and those the overrides set) are read against
  the current directory (`paths`; `load` has made a file's own absolute).
  """
  if raw is None:
    raw = {}
  for item in overrides:
    raw = set_override(raw, item, yamlio.parse_scalar)
  check_tree(raw)
  raw = paths.resolve(raw, os.getcwd())
  _moved_keys(raw)
  config = build(Config, raw, "")
  network_optimizers(config)  # checks g_optimizer / d_optimizer at load
  return config


_MOVED = {("train", "eval_every"): "eval.every"}


def _moved_keys(raw):
  """Keys that moved to another section fail with one line naming the new place."""
  for (section, key), target in _MOVED.items():
    if isinstance(raw.get(section), dict) and key in raw[section]:
      raise UserError(f"{section}.{key}: this key moved to {target} (same meaning); "
                      f"write {target}: {raw[section][key]!r} instead")


def network_optimizers(config):
  """Returns the (discriminator, generator) OptimizerSpecs.

  `g_optimizer` / `d_optimizer` are merged over `optimizer`, so `d_optimizer:
  {learning_rate: 4e-4}` changes only D's learning rate (TTUR).
  """
  base = to_dict(config.optimizer)
  return tuple(
      build(OptimizerSpec, {**base, **dict(getattr(config, key) or {})}, key)
      for key in ("d_optimizer", "g_optimizer"))


def load(path, overrides=(), relative_to=None):
  """Reads a YAML file and returns its checked, frozen Config.

  Its relative paths are read against `relative_to`, by default the file's own
  folder; the overrides' against the current directory.
  """
  raw = yamlio.load_file(path)
  if raw is not None and not isinstance(raw, dict):
    raise UserError(f"--config: {path!r} must hold a mapping of keys, "
                    f"got a {type(raw).__name__}")
  if raw:
    check_tree(raw)  # before the walk: the depth and key checks guard it
    raw = paths.resolve(raw, relative_to or os.path.dirname(os.path.abspath(path)))
  return from_dict(raw, overrides)


def to_dict(config):
  """The config as plain YAML-ready data, in the same layout a user writes."""
  if isinstance(config, (PluginSpec, PenaltySpec, OptimizerSpec)):
    out = {f.name: to_dict(getattr(config, f.name))
           for f in dataclasses.fields(config) if f.name != "kwargs"}
    out.update(config.kwargs)
    return out
  if dataclasses.is_dataclass(config):
    return {f.metadata.get("key", f.name): to_dict(getattr(config, f.name))
            for f in dataclasses.fields(config)}
  if isinstance(config, tuple):
    return [to_dict(v) for v in config]
  if isinstance(config, Mapping):
    return {k: to_dict(v) for k, v in config.items()}
  return config
