"""`train.backend: tf1_graph` is the same algorithm as the TF2 engine.

TF2 runs and TF1 graph runs share this process: the TF1 graph lives in a
`tf.Graph` of its own, so nothing here needs a subprocess except the CLI runs.
"""
import numpy as np
import pytest

from tfgan1.backends.tf2 import Run
from tfgan1.evaluation import sampling
from tfgan1 import config as config_lib
from tfgan1.backends.tf1_graph import run as tf1_run
from tfgan1.runner import train
from tfgan1.errors import UserError

tf = train.tf
STEPS = 5
RULES = ["one_step", "simultaneous", "alternating"]


def _ring(tmp_path, *overrides):
  raw = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
         "discriminator": {"name": "mlp", "hidden": [16, 16]},
         "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
         # lazy (every 2): a tf.cond on the step inside the graph
         "penalties": [{"name": "gradient_penalty", "weight": 1.0, "every": 2}],
         "optimizer": {"name": "sgd", "learning_rate": 0.05},
         "train": {"batch_size": 32}}
  return config_lib.from_dict(raw, overrides)


def _dcgan(tmp_path, *overrides):
  path = tmp_path / "mnist.npz"
  pixels = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
  np.savez(path, x_train=pixels)
  raw = {"generator": {"name": "dcgan", "base_channels": 8},
         "discriminator": {"name": "dcgan", "base_channels": 8, "norm": "spectral_norm"},
         "loss": "hinge", "data": {"name": "mnist", "path": str(path)},
         "noise": {"dim": 8}, "optimizer": {"name": "sgd", "learning_rate": 0.05},
         "train": {"batch_size": 8}}
  return config_lib.from_dict(raw, overrides)


def _weights(run):
  """Every weight the two backends should agree on, as numpy, by name."""
  t = run.trainer
  models = {"G": t.gan.generator, "D": t.gan.discriminator}
  if t.ema is not None:
    models["EMA"] = t.ema.model
  return {f"{k}/{i}/{v.path.rsplit('/', 1)[-1]}": v.numpy()  # Keras' layer names differ
          for k, m in models.items() for i, v in enumerate(m.weights)}


def _train_both(config):
  """(TF2 weights, TF1 graph weights) after STEPS steps from the TF2 build's weights."""
  tf2 = Run(config)
  tf1 = tf1_run.Run(config)
  t1, t2 = tf1.trainer, tf2.trainer
  t1.gan.generator.set_weights(t2.gan.generator.get_weights())  # copied, not just re-seeded
  t1.gan.discriminator.set_weights(t2.gan.discriminator.get_weights())
  if t2.ema is not None:
    t1.ema.model.set_weights(t2.ema.model.get_weights())
  t1.stale = True  # the mirrors changed: push them into the graph
  start = _weights(tf2)
  for _ in range(STEPS):
    m2 = t2.train_step(tf2.iterator, tf2.rng)
    m1 = t1.train_step(tf1.iterator, tf1.rng)
  tf1.trainer.pull()
  assert int(t1.step.numpy()) == int(t2.step.numpy()) == STEPS
  for key in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
    np.testing.assert_allclose(float(m1[key]), float(m2[key]), rtol=1e-4)
  return start, _weights(tf2), _weights(tf1)


def _assert_close(got, want, rtol):
  assert got.keys() == want.keys()
  for key in want:
    scale = max(1.0, float(np.abs(want[key]).max()))
    np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=rtol * scale,
                               err_msg=key)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("arch", [_ring, _dcgan], ids=["ring_mlp", "dcgan"])
def test_sgd_steps_equal_tf2(plugins_loaded, tmp_path, arch, rule):
  # classic: the form the TF1 graph computes (the TF2 forms agree to 1e-6, see
  # test_rule_equivalence.py); it also makes D's BatchNorm/u updates the same.
  config = arch(tmp_path, f"train.rule={rule}", "train.one_step_form=classic")
  start, want, got = _train_both(config)
  # On some CPUs TF1's graph kernels and TF2's eager ones round the DCGAN's
  # convolutions differently: a few entries of G's first kernel drift apart by up
  # to 4e-5 over these steps (with the code before the rebuild too). The MLP
  # stays within 1e-5.
  _assert_close(got, want, 1e-5 if arch is _ring else 1e-4)
  moved = max(np.abs(want[k] - start[k]).max() for k in want if k.startswith("G/"))
  assert moved > 1e-4, "G must move, else the comparison proves nothing"


def _ancestors(op):
  seen, todo = set(), [op]
  while todo:
    node = todo.pop()
    for parent in [t.op for t in node.inputs] + list(node.control_inputs):
      if parent not in seen:
        seen.add(parent)
        todo.append(parent)
  return seen


@pytest.mark.parametrize("rule", ["simultaneous", "one_step"])
def test_fence_orders_every_apply_after_every_gradient(plugins_loaded, tmp_path, rule):
  """The race in `sess.run([D_solver, G_solver])` could not be provoked on this
  2-core machine: 200 unfenced runs of a Wasserstein simultaneous step from the
  same weights and batch all gave the same G weights, because the executor
  runs the variable reads (ops without inputs) first. So this test proves the
  ordering from the graph (every apply op depends on every gradient op and on
  every metric), and shows that the order matters: G's gradient taken after
  D's update differs from the one taken before it, which the fenced step uses.
  """
  from tfgan1.engine import assembly as build
  from tfgan1.backends.tf1_graph import graph as tf1_engine
  config = _ring(tmp_path, f"train.rule={rule}", "loss.name=wasserstein")
  data = build.dataset(config)
  g = tf1_engine.GraphTrainer(config, data.spec, build.loss_family(config.loss), [])
  applies = [op for op in g.graph.get_operations() if op.type.startswith("ResourceApply")]
  assert len(applies) == len(g.d_vars) + len(g.g_vars)
  needed = {t.op for t in g.gradients["d"] + g.gradients["g"]}
  # grad_norm_* read gradients only, never weights: they need no fence; lr* read
  # the update counters the applies move (after them); skipped_steps is read after the step.
  needed |= {t.op for k, t in g.metrics.items()
             if not k.startswith(("grad_norm", "lr")) and k != "skipped_steps"}
  for op in applies:
    missing = needed - _ancestors(op)
    assert not missing, f"{op.name} may run before {sorted(m.name for m in missing)[:3]}"
  rng = np.random.default_rng(0)
  feed = {g.real: rng.standard_normal((32, 2)).astype(np.float32),
          g.z: rng.standard_normal((32, 4)).astype(np.float32), g.seed: [0, 0]}
  g_vars_before = g.session.run(g.g_vars)
  before = g.session.run(g.gradients["g"], feed)
  g.session.run(list(g.solvers.values()), feed)
  lr = 0.05  # plain SGD: the fenced step is G - lr * (G's gradient before the update)
  for new, old, grad in zip(g.session.run(g.g_vars), g_vars_before, before):
    np.testing.assert_allclose(new, old - lr * grad, rtol=1e-5, atol=1e-6)
  after = g.session.run(g.gradients["g"], feed)  # D has moved: a late read sees this
  change = max(np.abs(a - b).max() for a, b in zip(after, before))
  assert change > 1e-3 * max(np.abs(b).max() for b in before)


def test_adam_run_resumes_exactly_and_stays_within_1e5_of_tf2(plugins_loaded, tmp_path):
  """A checkpoint mid-run, restored into a fresh run, continues as if never stopped
  (data iterator, noise RNG, Adam slots, EMA). And with Adam, 4 steps stay within
  1e-5 of the TF2 engine's: G has no BatchNorm here, since a bias in front of one
  has a true gradient of 0 and Adam's m / (sqrt(v) + eps) turns its rounding noise
  into +-lr steps in either backend (docs/guide/tf1.md).
  """
  from tfgan1.runner import checkpoints  # pylint: disable=import-outside-toplevel
  config = _ring(tmp_path, "train.rule=simultaneous", "optimizer.name=adam",
                 "optimizer.learning_rate=0.001", "generator.norm=none", "ema={decay: 0.9}")
  tf2 = Run(config)
  straight = tf1_run.Run(config)
  for step in range(1, 5):
    straight.trainer.train_step(straight.iterator, straight.rng)
    tf2.trainer.train_step(tf2.iterator, tf2.rng)
    if step == 2:  # the checkpoint a stopped run would leave
      checkpoints.manager(straight.checkpoint, str(tmp_path), 2).save(checkpoint_number=2)
  straight.trainer.pull()
  _assert_close(_weights(straight), _weights(tf2), 1e-5)
  resumed = tf1_run.Run(config)
  checkpoints.restore(resumed.checkpoint, checkpoints.latest(str(tmp_path)))
  assert int(resumed.trainer.step.numpy()) == 2
  for _ in range(2):
    resumed.trainer.train_step(resumed.iterator, resumed.rng)
  resumed.trainer.pull()
  _assert_close(_weights(resumed), _weights(straight), 1e-6)


@pytest.mark.parametrize("override, key", [
    ("train.backend=tf3", "train.backend"),
    ("train.jit_compile=true", "train.jit_compile"),
    ("optimizer.name=nadam", "optimizer.name"),
    ("optimizer={name: adam, amsgrad: true}", "optimizer.amsgrad"),
])
def test_unsupported_configs_are_one_line_errors(plugins_loaded, tmp_path, override, key):
  from tfgan1.backends.tf1_graph import checks as tf1_checks  # pylint: disable=import-outside-toplevel
  with pytest.raises(UserError) as err:
    tf1_checks.check(_ring(tmp_path, "train.backend=tf1_graph", override))
  message = str(err.value)
  assert message.startswith(f"{key}:") and "\n" not in message


def test_eager_only_plugin_is_refused(plugins_loaded, tmp_path):
  from tfgan1 import LOSSES  # pylint: disable=import-outside-toplevel

  @LOSSES.register("tf1_test_eager_hinge")
  class EagerHinge:  # pylint: disable=unused-variable
    def discriminator_loss(self, real_logits, fake_logits):
      return tf.constant(float(tf.reduce_mean(real_logits - fake_logits).numpy()))

    def generator_loss(self, fake_logits, real_logits):
      del real_logits
      return -tf.reduce_mean(fake_logits)

  config = _ring(tmp_path, "train.backend=tf1_graph", "loss.name=tf1_test_eager_hinge")
  with pytest.raises(UserError, match=r"^train.backend: 'tf1_graph' cannot build"):
    tf1_run.Run(config)
  EagerHinge.needs_eager = True
  with pytest.raises(UserError, match=r"^loss.name: 'tf1_test_eager_hinge' is not supported"):
    tf1_run.Run(config)


def test_cli_run_and_tools(tmp_path):
  """`--set train.backend=tf1_graph` through the CLI; tools/sample.py's and
  tools/export.py's code paths (restore.load_sampler) read the workdir unchanged.

  One subprocess only (test budget): resuming is test_resumed_run_equals_uninterrupted,
  and SIGTERM handling is the shared loop's (tests/test_cli_run.py).
  """
  import os  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  from tests.conftest import ROOT, run_cli  # pylint: disable=import-outside-toplevel
  from tests.test_cli_run import CONFIG, SMALL, TRAIN_TAGS, _read_events  # pylint: disable=import-outside-toplevel
  from tfgan1.engine import assembly as build  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import reload as restore
  workdir = tmp_path / "run"
  out = run_cli("--config", CONFIG, "--workdir", workdir, *SMALL, "--set", "train.steps=40",
                "--set", "train.backend=tf1_graph", "--set", "train.rule=simultaneous",
                "--set", "train.jit_compile=false",  # refused if a config turns XLA on
                "--set", "train.steps_per_call=7")  # one session call per step still
  assert out.returncode == 0, out.stderr[-2000:]
  assert "step 40/40 |" in out.stderr
  scalars, images = _read_events(workdir)
  assert TRAIN_TAGS <= set(scalars) and "samples" in images
  assert [s for s, _ in scalars["loss/d"]] == [20, 40]
  assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= set(scalars)
  assert (workdir / "samples" / "samples_00000030.png").is_file()
  assert config_lib.load(str(workdir / "config.yaml")).train.backend == "tf1_graph"
  config, _, generator = restore.load_sampler(str(workdir))  # as tools/sample.py
  samples = sampling.sample(config, generator, 50, 0)
  assert samples.shape == (50, 2) and np.isfinite(samples).all()
  build.keras.utils.set_random_seed(config.seed)
  fresh, _ = build.models(config, build.dataset(config).spec)
  assert np.abs(sampling.sample(config, fresh, 50, 0) - samples).max() > 1e-3, "trained G"
  # The tool as a user runs it (importing it here would define its absl flags
  # beside tfgan1.run's, which another test may have imported in this process).
  export_dir = str(tmp_path / "exported")
  done = subprocess.run([sys.executable, str(ROOT / "tools" / "export.py"), f"--workdir={workdir}",
                         f"--out={export_dir}"], capture_output=True, text=True, timeout=600,
                        check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
  assert done.returncode == 0, done.stderr[-3000:]
  from tfgan1.engine import noise  # pylint: disable=import-outside-toplevel
  z = noise.noise_fn(config)(tf.random.Generator.from_seed(0), 50)
  served = tf.saved_model.load(export_dir).signatures["serving_default"](noise=z)
  np.testing.assert_allclose(served["samples"].numpy(), samples, rtol=1e-5, atol=1e-6)


def test_verify_compares_tf1_graph_gradients_with_tf2(plugins_loaded, tmp_path, capsys):
  import json  # pylint: disable=import-outside-toplevel
  from tfgan1.backends.tf1_graph import verify as tf1_verify  # pylint: disable=import-outside-toplevel
  config = _ring(tmp_path, "train.backend=tf1_graph", "generator.norm=none",
                 "penalties=[{name: r1, weight: 1.0}]")
  assert tf1_verify.main(config) == 0
  result = json.loads(capsys.readouterr().out)
  assert len(result["pairs"]) == 6 and result["worst_relative"] < 1e-5
  assert all(p["max_abs_diff"] < 1e-5 for p in result["pairs"].values())
