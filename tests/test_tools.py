"""Every tool under tools/ run end to end as a user runs it (`python tools/X ...`),
on tiny configs, so that no tool breaks silently: this module runs the tools no
other test runs, starts every command-line tool once, and fails when a file
appears under tools/ with no test that names it.

Which test runs which tool (test_every_tool_has_a_test reads this list; add a
line, and a test, with every new tool):

    tools/bench.py: tests/test_bench.py
    tools/compare_runs.py: tests/test_cli_run.py
    tools/eval.py: tests/test_cli_run.py
    tools/export.py: tests/test_export.py, tests/test_conditional.py
    tools/fid_stats.py: tests/test_evaluators.py
    tools/gpu_check.py: tests/test_gpu_check.py
    tools/gpu_check.sh: tests/test_gpu_check.py
    tools/plot_eval.py: tests/test_cli_run.py
    tools/random_images.py: tests/test_tools.py
    tools/sample.py: tests/test_cli_run.py, tests/test_sampling.py
    tools/soak.py: tests/test_tools.py
    tools/toolkit.py: tests/test_tools.py
    tools/train_mnist_classifier.py: tests/test_tools.py

tools/benchlib/ is bench.py's library (tests/test_bench.py runs every mode).
The slow runs (soak, a random_images run, the classifier) start side by side
once per module: about 85 CPU-seconds in all (2.2-2.6 minutes measured on 2
cores while another test suite loaded them to 6; about half that idle).
"""
import importlib.util
import math
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, SHARED_MNIST, SMALL

TOOLS = ROOT / "tools"
_COVERAGE = re.compile(r"^ {4}tools/(\S+): (.+)$", re.M)
needs_mnist = pytest.mark.skipif(
    not SHARED_MNIST.is_dir(), reason="shared MNIST not found next to the repo "
    "(../shared/data/mnist): train_mnist_classifier.py needs labelled digits")


def _sets(keys):
  return [a for k in keys for a in ("--set", k)]


def _popen(args, env=None):
  return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, **(env or {})))


def _finish(proc, timeout=420):
  out, err = proc.communicate(timeout=timeout)
  return proc.returncode, out, err


@pytest.fixture(scope="module")
def started(tmp_path_factory):
  """(folder, {name: Popen}): the slow tool runs, started side by side."""
  tmp = tmp_path_factory.mktemp("tools")
  procs = {
      # Both phases, 2 runs each: the smallest soak there is (runs > settle + 1).
      "soak": _popen([TOOLS / "soak.py", "--runs", "2", "--settle", "0", "--steps", "2",
                      "--max_growth_mb", "1000", *_sets(SMALL)]),
      # The plugin file, as its docstring shows it, under a narrow DCGAN.
      "random_images": _popen(
          ["-m", "tfgan1.run", "--config", ROOT / "configs" / "mnist_dcgan.yaml",
           "--workdir", tmp / "random", *_sets([
               "plugins=[tools/random_images.py]",
               "data={name: random_images, size: 28, channels: 1, num: 64}",
               "generator.base_channels=8", "discriminator.base_channels=8",
               "train.batch_size=8", "train.steps=2", "train.steps_per_call=1",
               "train.log_every=1", "train.checkpoint_every=2", "train.sample_every=2",
               "eval.every=0", "eval.metrics=[]", "eval.best=null", "ema=null"])]),
  }
  if SHARED_MNIST.is_dir():  # its default --data and --out, in a cache of its own
    procs["classifier"] = _popen([TOOLS / "train_mnist_classifier.py", "--epochs", "1",
                                  "--width", "4"], env={"XDG_CACHE_HOME": str(tmp / "cache")})
  yield tmp, procs
  for proc in procs.values():
    if proc.poll() is None:
      proc.kill()
      proc.communicate()


def test_soak_runs_in_process_and_as_processes(started):
  rc, out, err = _finish(started[1]["soak"])
  assert rc == 0, err[-3000:]
  runs = re.findall(r"^in-process run (\d): RSS ([\d.]+) MB, traced (\d+)x, [\d.]+ s, "
                    r"earlier runs still alive: (\d+)$", out, re.M)
  assert [r[0] for r in runs] == ["1", "2"], out
  rss = [float(r[1]) for r in runs]
  assert all(100 < m < 20000 for m in rss)
  assert [(r[2], r[3]) for r in runs] == [("1", "0"), ("1", "0")]  # no retrace, no leak
  procs = re.findall(r"^process run (\d): peak RSS ([\d.]+) MB, [\d.]+ s$", out, re.M)
  assert [p[0] for p in procs] == ["1", "2"] and all(100 < float(p[1]) < 20000 for p in procs)
  slope = float(re.search(r"slope over runs 1-2: ([-+\d.]+) MB/run \(limit 1000.0\)", out)[1])
  assert slope == pytest.approx(rss[1] - rss[0], abs=0.11)
  assert "separate processes, 2 runs: peak RSS median" in out
  assert out.rstrip().endswith("PASS")


def test_random_images_trains_as_a_plugin_file(started):
  tmp, procs = started
  rc, _, err = _finish(procs["random_images"])
  assert rc == 0, err[-3000:]
  work = tmp / "random"
  assert (work / "checkpoints" / "ckpt-2.index").is_file()
  config = yaml.safe_load((work / "config.yaml").read_text())
  assert config["data"]["name"] == "random_images"
  assert config["plugins"][0].endswith("random_images.py")
  log = (work / "train.log").read_text()
  losses = [float(v) for v in re.findall(r"step 2/2 .*loss_d=(\S+) loss_g=(\S+)", log)[0]]
  assert len(losses) == 2 and all(math.isfinite(v) for v in losses)


@needs_mnist
def test_train_mnist_classifier_saves_where_the_evaluator_looks(started):
  tmp, procs = started
  rc, out, err = _finish(procs["classifier"])
  assert rc == 0, err[-3000:]
  path = tmp / "cache" / "tfgan1" / "mnist_classifier.keras"  # the evaluator's default
  found = re.search(r"^held-out accuracy ([\d.]+)% on (\d+) digits \((.*)\); saved (\S+)$",
                    out, re.M)
  assert found and found[4] == str(path), out
  assert 20 < float(found[1]) <= 100  # chance is 10%; one epoch of a narrow CNN
  if found[3].startswith("one split"):  # the shared folder: the 10k test digits
    assert found[2] == "2000" and "not full MNIST" in found[3]
    assert "warning" not in out  # 98% is expected of full MNIST only
  from tfgan1.plugins.evaluators import mnist
  features, logits = mnist.load_feature_model(str(path))(
      mnist.to_float([[[[0]] * 28] * 28] * 2))
  assert tuple(features.shape) == (2, 16) and tuple(logits.shape) == (2, 10)


def test_toolkit_run_tool_reports_bad_input_in_one_line(capsys):
  spec = importlib.util.spec_from_file_location("toolkit", TOOLS / "toolkit.py")
  toolkit = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(toolkit)
  from tfgan1.errors import UserError
  calls = []
  toolkit.run_tool(lambda: calls.append(1), ["tool"])
  assert calls == [1]
  with pytest.raises(SystemExit) as stop:
    toolkit.run_tool(lambda: calls.append(2), ["tool", "stray"])
  assert stop.value.code == 2 and calls == [1]
  assert capsys.readouterr().err == "error: unexpected arguments ['stray']\n"

  def bad():
    toolkit.check_at_least(1, steps=0)

  with pytest.raises(SystemExit) as stop:
    toolkit.run_tool(bad, ["tool"])
  assert stop.value.code == 2
  assert capsys.readouterr().err == "error: --steps: 0 is not allowed; must be >= 1\n"
  with pytest.raises(UserError, match=r"^--rules: 'x' is not allowed; choose from: a, b$"):
    toolkit.check_choices(["a", "x"], ("a", "b"), "rules")


def _commands():
  """Every command-line tool (a file with a __main__ block, or a .sh), with a
  stray argument, and the one line it must refuse it with."""
  out = []
  for path in sorted(TOOLS.iterdir()):
    if path.suffix == ".sh":
      out.append((["bash", path, "stray"], "error: unexpected arguments ['stray']"))
    elif path.suffix == ".py" and 'if __name__ == "__main__":' in path.read_text():
      stray = {"bench.py": (["speed", "stray"], "error: mode: 'speed stray' is not allowed"),
               "compare_runs.py": (["--stray"], "error: unknown option '--stray'")}
      args, line = stray.get(path.name, (["stray"], "error: unexpected arguments ['stray']"))
      out.append(([sys.executable, path, *args], line))
  # A dataset error names the tool's flag, not the config key behind it.
  out.append(([sys.executable, TOOLS / "train_mnist_classifier.py", "--data", "/no/such/mnist"],
              "error: --data: '/no/such/mnist' does not exist"))
  return out


def test_every_command_line_tool_starts_and_refuses_a_stray_argument():
  """Each tool imports what it needs (a renamed module breaks it here) and
  reports bad input as one line, exit code 2, with no traceback."""
  commands = _commands()
  assert len(commands) >= 10
  procs = [(subprocess.Popen([str(a) for a in args], cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, PYTHON=sys.executable)), args, line)
           for args, line in commands]
  for proc, args, line in procs:
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 2 and "Traceback" not in err, (args, err[-2000:])
    assert err.strip().splitlines() == [err.strip()] and err.startswith(line), (args, err)


def test_every_tool_has_a_test():
  """A file under tools/ needs a line in this module's docstring naming the
  tests that run it, and each of those tests must name it in its code."""
  coverage = {tool: [t.strip() for t in tests.split(",")]
              for tool, tests in _COVERAGE.findall(__doc__)}
  tools = sorted(p.name for p in TOOLS.iterdir() if p.suffix in (".py", ".sh"))
  missing = sorted(set(tools) - set(coverage))
  assert not missing, (f"{missing}: no test runs these tools; add one and a line "
                       "'tools/NAME: tests/test_X.py' to tests/test_tools.py's docstring")
  assert sorted(coverage) == tools, f"listed but not in tools/: {set(coverage) - set(tools)}"
  for tool, tests in coverage.items():
    for test in tests:
      text = (ROOT / test).read_text(encoding="utf-8")
      if test == "tests/test_tools.py":
        text = text.split('"""', 2)[2]  # the code, not this list
      assert re.search(rf"\b{re.escape(tool)}\b", text), f"{test} does not name {tool}"
