"""Shared fixtures: the repo root, a CLI runner, and quiet TensorFlow."""
import logging
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Tests never read the user's cache (a trained MNIST classifier there would change
# what a run evaluates); subprocesses inherit this.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tfgan1-test-cache-")


# What --verify compares with the simultaneous rule, for D and G each: the four
# one-step forms (shared: every shipped D scores each sample on its own), the
# simultaneous rule again (determinism), and what other rules add.
VERIFIED = {"one_step_classic", "one_step_stateless", "one_step_fused", "one_step_shared",
            "simultaneous_again"}


def verified(pairs):
  """The comparisons in a --verify report's `pairs`, each with its D and G pair."""
  names = {p.rsplit("_vs_simultaneous/", 1)[0] for p in pairs}
  assert len(pairs) == 2 * len(names), sorted(pairs)
  return names


def run_cli(*args, cwd=None, timeout=300, env=None):
  """Runs `python -m tfgan1.run ARGS` and returns the CompletedProcess."""
  full_env = dict(os.environ, **(env or {}))
  return subprocess.run([sys.executable, "-m", "tfgan1.run", *map(str, args)],
                        cwd=cwd or ROOT, capture_output=True, text=True,
                        timeout=timeout, env=full_env, check=False)


@pytest.fixture
def cli():
  return run_cli


def _global_state():
  """What an in-process CLI call could leave changed for the tests after it."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  absl_logger = logging.getLogger("absl")
  return (os.getcwd(), flags.FLAGS.is_parsed(), list(absl_logger.handlers),
          absl_logger.propagate, absl_logger.level, list(logging.getLogger().handlers),
          tfimport.keras().mixed_precision.global_policy().name)


@pytest.fixture
def cli_here(capfd, monkeypatch):
  """`python -m tfgan1.run ARGS` in this process, as run.entry() would run it
  (flag parsing, then main): a CompletedProcess-like result with its exit code
  and what it printed. Saves the ~7 s a subprocess pays to import TensorFlow;
  each error path keeps real-process cases (exit code, no traceback, no
  TensorFlow chatter) in test_config and test_bad_inputs. Fails if the call
  left flags, logging, the Keras policy or the directory changed."""
  from tfgan1 import run  # pylint: disable=g-import-not-at-top

  def call(*args, cwd=None):
    monkeypatch.chdir(cwd or ROOT)
    before = _global_state()
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level  # parsing absl's --verbosity sets it; a process ends there
    capfd.readouterr()
    code = 0
    try:
      run.main(run.parse_flags(["tfgan1.run", *map(str, args)]))
    except SystemExit as e:
      code = e.code
    finally:
      run.FLAGS.unparse_flags()
      absl_logger.setLevel(level)
    out, err = capfd.readouterr()
    assert _global_state() == before
    return subprocess.CompletedProcess(args, code, out, err)

  return call


@pytest.fixture(scope="session")
def root():
  return ROOT


@pytest.fixture(scope="session")
def plugins_loaded():
  """Loads the built-in plugins once (through the entry points, as a run does)."""
  from tfgan1.registry import loader as plugin_loader
  plugin_loader.load_all()
  return True


# The real MNIST test set beside the repo (../shared); tests that need it skip without it.
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

# A tiny real run (ring8, 16-unit MLPs) for checkpoint and workdir tests.
RING8 = str(ROOT / "configs" / "ring8.yaml")
# XLA off, as ring8.yaml ships now; pinned here because compiling costs seconds per
# build. Configs that turn it on are covered by test_verify_configs and test_bench.py.
SMALL = ["generator.hidden=[16]", "discriminator.hidden=[16]", "train.batch_size=16",
         "eval.num_samples=100", "train.jit_compile=false"]
RUN_SETS = ["train.steps=4", "train.checkpoint_every=2", "train.log_every=2",
            "train.sample_every=4"]
ALLOW = "--allow_config_change"  # in `sets`: pass allow_config_change=True


def train_tiny(workdir, sets=()):
  """train_and_evaluate in-process on the tiny config plus `sets` overrides."""
  from tfgan1 import config as config_lib
  from tfgan1.runner import train
  config = config_lib.load(RING8, SMALL + RUN_SETS + [s for s in sets if s != ALLOW])
  return train.train_and_evaluate(config, str(workdir), ALLOW in sets)


def snapshot(folder):
  """{path: bytes (None for a folder)} of everything under `folder`."""
  return {str(p): (p.read_bytes() if p.is_file() else None)
          for p in sorted(pathlib.Path(folder).rglob("*"))}


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, plugins_loaded):
  """A real, finished 4-step tiny run (checkpoints at 2 and 4), trained in-process."""
  workdir = tmp_path_factory.mktemp("finished") / "run"
  train_tiny(workdir)
  return workdir


class _WhileNotPropagating(logging.Handler):
  """Hands absl's records to `target` while the absl logger does not propagate.

  A run prints plain lines through its own handler and stops absl's logger from
  propagating meanwhile (tfgan1.console.plain_console), so pytest's caplog, which
  listens at the root logger, would miss every line a run logs.
  """

  def __init__(self, target):
    super().__init__()
    self.target = target

  def emit(self, record):
    if not logging.getLogger("absl").propagate:
      self.target.handle(record)


@pytest.fixture
def caplog(caplog):  # pylint: disable=redefined-outer-name
  """pytest's caplog, also seeing the lines a run logs (see _WhileNotPropagating)."""
  forward = _WhileNotPropagating(caplog.handler)
  logging.getLogger("absl").addHandler(forward)
  yield caplog
  logging.getLogger("absl").removeHandler(forward)
