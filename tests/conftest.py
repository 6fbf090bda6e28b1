"""Shared fixtures: the repo root, a CLI runner, and quiet TensorFlow."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def run_cli(*args, cwd=None, timeout=300, env=None):
  """Runs `python -m tfgan1.run ARGS` and returns the CompletedProcess."""
  full_env = dict(os.environ, **(env or {}))
  return subprocess.run([sys.executable, "-m", "tfgan1.run", *map(str, args)],
                        cwd=cwd or ROOT, capture_output=True, text=True,
                        timeout=timeout, env=full_env, check=False)


@pytest.fixture
def cli():
  return run_cli


@pytest.fixture(scope="session")
def root():
  return ROOT


@pytest.fixture(scope="session")
def plugins_loaded():
  """Loads the built-in plugins once (through the entry points, as a run does)."""
  from tfgan1 import plugin_loader
  plugin_loader.load_all()
  return True
