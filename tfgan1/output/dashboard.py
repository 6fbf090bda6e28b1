"""TensorBoard beyond the train scalars: the run's hyperparameters (HParams
dashboard), a custom-scalars layout, the resolved config as text, opt-in weight
histograms and an opt-in profiler trace of chosen steps.
"""
from absl import logging
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar
from tensorboard.plugins.hparams import api as hp

from tfgan1 import config as config_lib
from tfgan1 import tfimport
from tfgan1.config import yamlio
from tfgan1.errors import UserError

tf = tfimport.tensorflow()
keras = tfimport.keras()


def hparams(config):
  """The flat hyperparameters runs are compared by (str, int, float, bool only)."""
  train = config.train
  d_opt, g_opt = config_lib.network_optimizers(config)
  values = {
      "rule": train.rule,
      "loss": config.loss.name, "lambda": train.lambda_, "g_top_k": train.g_top_k,
      "lr_d": _hparam(d_opt.learning_rate), "lr_g": _hparam(g_opt.learning_rate),
      "optimizer": d_opt.name, "batch_size": train.batch_size,
      "penalties": ",".join(f"{p.name}:{p.weight:g}" for p in config.penalties) or "none",
      "seed": config.seed, "steps": train.steps,
      "generator": config.generator.name, "discriminator": config.discriminator.name,
      "data": config.data.name,
  }
  if train.rule == "one_step":  # other rules have no form: compare_runs would list it
    values["one_step_form"] = train.one_step_form
  # No precision section: Keras' float type (float32 unless a user changed it).
  values["precision"] = config.precision.name if config.precision else keras.config.floatx()
  return values


def _hparam(value):
  """A number as it is; a learning-rate schedule (a mapping) as one short string."""
  if isinstance(value, (int, float, str, bool)):
    return value
  return ", ".join(f"{k}={v}" for k, v in dict(value).items())


def _chart(title, regex):
  return layout_pb2.Chart(
      title=title, multiline=layout_pb2.MultilineChartContent(tag=[regex]))


def layout():
  """Custom scalars: D and G losses on one chart, D's real/fake outputs on another."""
  return layout_pb2.Layout(category=[layout_pb2.Category(title="GAN", chart=[
      _chart("losses (D and G)", r"^loss/(d|g)$"),
      _chart("D outputs (real vs fake)", r"^d_out/(real|fake)$"),
      _chart("gradient norms", r"^grad_norm/(d|g)$"),
  ])])


def write_run_info(writer, config, step):
  """Hyperparameters, the custom-scalars layout and the config text, once per start."""
  with writer.as_default(step=step):
    hp.hparams(hparams(config))
    tf.summary.experimental.write_raw_pb(custom_scalar.pb(layout()).SerializeToString())
    text = yamlio.dump(config_lib.to_dict(config))
    # Indented by four spaces: TensorBoard renders text as Markdown, this keeps YAML as is.
    tf.summary.text("config", "\n".join("    " + line for line in text.splitlines()))


def histogram_tags(model, role):
  """{tag: variable}, one tag per variable of `model`: `weights/generator/dense_1/kernel`.

  Keras 3 paths are `layer/variable` (functional models) or start with the
  model's own name (subclassed ones): that name is dropped, the layer's kept,
  so each variable gets its own chart; a repeated path gets a `_2` suffix.
  """
  tags = {}
  for variable in model.weights:
    path = getattr(variable, "path", variable.name).replace(":0", "")
    if path.startswith(model.name + "/"):
      path = path[len(model.name) + 1:]
    tag, n = f"weights/{role}/{path}", 1
    while tag in tags:
      n += 1
      tag = f"weights/{role}/{path}_{n}"
    tags[tag] = variable
  return tags


def write_histograms(writer, step, gan):
  """Weight histograms, one per variable, under `weights/generator/...`, `weights/discriminator/...`."""
  with writer.as_default(step=step):
    for role, model in (("generator", gan.generator), ("discriminator", gan.discriminator)):
      for tag, variable in histogram_tags(model, role).items():
        tf.summary.histogram(tag, variable)


def parse_profile_steps(text):
  """`"100,110"` -> (100, 110): trace from step 100 up to step 110."""
  if not text:
    return None
  parts = text.split(",")
  try:
    first, last = (int(p) for p in parts)
  except ValueError:
    first = last = None
  if len(parts) != 2 or first is None or not 0 <= first < last:
    raise UserError(f"--profile_steps: {text!r} is not allowed; expected FIRST,LAST "
                    "with 0 <= FIRST < LAST, e.g. 100,110")
  return first, last


class Profiler:
  """Traces steps (first, last] with the TensorBoard profiler into the workdir."""

  def __init__(self, steps, logdir):
    self.first, self.last = steps or (None, None)
    self.logdir = logdir
    self.active = False

  def before(self, step):
    """Call with the step about to run (0-based count of finished steps)."""
    if step == self.first:
      tf.profiler.experimental.start(self.logdir)
      self.active = True

  def after(self, step):
    """Call with the count of finished steps."""
    if self.active and step >= self.last:
      self.stop()
      logging.info("profiler trace of steps %d-%d written under %s/plugins/profile",
                   self.first + 1, self.last, self.logdir)

  def stop(self):
    """Ends the trace if one is running (also on Ctrl-C)."""
    if self.active:
      tf.profiler.experimental.stop()
      self.active = False
