"""The Python API: `tfgan1.load_config`, `tfgan1.train_and_evaluate`, help(tfgan1)."""
import json
import os
import pydoc
import re
import subprocess
import sys

import pytest

import tfgan1
from tfgan1.output import cpp_log_filter as native_log
from tests.conftest import ROOT

RING = {"data": {"name": "ring8"}, "generator": {"name": "mlp", "hidden": [8]},
        "discriminator": {"name": "mlp", "hidden": [8]}, "loss": "hinge",
        "train": {"steps": 4, "batch_size": 8}}


def test_load_config_takes_a_path_a_dict_or_a_config():
  path = ROOT / "configs" / "ring8.yaml"
  from_path = tfgan1.load_config(path, ["train.steps=7"])
  assert from_path.train.steps == 7 and from_path.data.name == "ring8"
  from_dict = tfgan1.load_config(RING)
  assert from_dict.train.steps == 4 and RING["train"] == {"steps": 4, "batch_size": 8}
  assert tfgan1.load_config(from_dict) is from_dict
  assert tfgan1.load_config(from_dict, "train.steps=9").train.steps == 9
  assert isinstance(from_dict, tfgan1.Config)


def test_a_bad_dict_is_the_cli_error(tmp_path, cli_here):
  bad = {**RING, "train": {"stepz": 3}}
  with pytest.raises(tfgan1.UserError) as err:
    tfgan1.load_config(bad)
  (tmp_path / "bad.yaml").write_text(json.dumps(bad))  # JSON is YAML
  out = cli_here("--config", tmp_path / "bad.yaml")
  assert out.returncode == 2
  assert out.stderr.strip() == f"error: {err.value}"
  assert str(err.value).startswith("train.stepz: unknown key; did you mean 'steps'?")
  with pytest.raises(tfgan1.UserError, match=r"^config: a int is not allowed"):
    tfgan1.load_config(3)
  # A path given to Python is not the --config flag.
  with pytest.raises(tfgan1.UserError, match=r"^config: file 'no/such\.yaml' .*does not exist"):
    tfgan1.load_config("no/such.yaml")


def test_hparams_name_precision_and_only_one_step_has_a_form():
  from tfgan1.output import dashboard
  one_step = dashboard.hparams(tfgan1.load_config(RING))
  assert one_step["precision"] == "float32" and one_step["one_step_form"] == "fused"
  alternating = dashboard.hparams(tfgan1.load_config(RING, "train.rule=alternating"))
  assert "one_step_form" not in alternating and alternating["rule"] == "alternating"


def test_relative_paths_are_shown_resolved(plugins_loaded, tmp_path, monkeypatch):
  from tfgan1.engine import assembly as build
  from tfgan1.registry import loader as plugin_loader
  monkeypatch.chdir(tmp_path)
  config = tfgan1.load_config({**RING, "data": {"name": "mnist", "path": "no/such/mnist"}})
  with pytest.raises(tfgan1.UserError) as err:
    build.dataset(config)
  # A dict's relative path is read against the current directory, and named absolute.
  assert str(err.value).startswith(f"data.path: '{tmp_path}/no/such/mnist' does not exist")
  with pytest.raises(tfgan1.UserError, match=re.escape(
      f"--plugin: plugin file 'mine.py' (= '{tmp_path}/mine.py' from the current")):
    plugin_loader.load_user_plugin("mine.py", "--plugin")


def test_help_lists_the_public_api():
  text = pydoc.render_doc(tfgan1, renderer=pydoc.plaintext)
  for name in ("train_and_evaluate", "load_config", "tfgan1.keras.GAN", "UserError",
               "LOSSES", "Config"):
    assert name in text
  for fn in (tfgan1.train_and_evaluate, tfgan1.load_config):
    assert "Args:" in fn.__doc__ and "Returns:" in fn.__doc__


def test_import_is_light():
  code = ("import sys, tfgan1\n"
          "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
          "print('light')")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False, cwd=ROOT)
  assert out.stdout.strip() == "light", out.stderr


def test_filter_drops_only_the_harmless_lines():
  line = ("E0000 00:00:1795781668.448726    6697 meta_optimizer.cc:967] remapper failed: "
          "INVALID_ARGUMENT: Mutation::Apply error: fanout 'StatefulPartitionedCall/"
          "gradient_tape/leaky_re_lu_1_2/LeakyRelu/LeakyReluGrad' exist for missing node "
          "'StatefulPartitionedCall/spectral_norm_1_2/BiasAdd'.\n")
  cuda = ("E0000 00:00:1795783105.827445   22228 cuda_platform.cc:52] failed call to cuInit: "
          "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
  other = "E0000 00:00:1.2  6697 meta_optimizer.cc:967] layout failed: INVALID_ARGUMENT: x\n"
  assert native_log.filter_text("a\n" + line + other + cuda + "b\n") == "a\n" + other + "b\n"


def test_train_from_a_fresh_interpreter(tmp_path):
  """No CLI: plugins found, banner and progress on the console, no grappler line.

  A spectral-norm DCGAN on the shared MNIST files is the run that made TF print
  the remapper error line.
  """
  mnist = ROOT.parent / "shared" / "data" / "mnist"
  if not mnist.is_dir():
    pytest.skip(f"{mnist} (the shared MNIST files) is missing")
  config = {"data": {"name": "mnist", "path": str(mnist), "split": "test"},
            "generator": {"name": "dcgan", "base_channels": 8},
            "discriminator": {"name": "dcgan", "base_channels": 8, "norm": "spectral_norm"},
            "loss": "hinge", "noise": {"dim": 16},
            "train": {"steps": 4, "batch_size": 8, "log_every": 2}}
  code = ("import json, sys, tfgan1\n"
          "record = tfgan1.train_and_evaluate(json.loads(sys.argv[1]), sys.argv[2])\n"
          "print(json.dumps(record))")
  out = subprocess.run([sys.executable, "-c", code, json.dumps(config), str(tmp_path / "w")],
                       capture_output=True, text=True, check=False, cwd=tmp_path,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  assert json.loads(out.stdout) == {"step": 4}
  lines = out.stderr.splitlines()
  assert lines[0] == f"workdir {tmp_path / 'w'}: new run", out.stderr[-3000:]
  assert "data mnist: 10,000 samples | batch 8" in lines
  assert [l for l in lines if l.startswith("step ")][-1].startswith("step 4/4 | ")
  assert re.fullmatch(r"done: step 4 in \S+ \| loss_d=\S+ loss_g=\S+", lines[-1])
  assert "remapper failed" not in out.stderr and "E0000" not in out.stderr
  assert (tmp_path / "w" / "train.log").read_text().count("] step ") == 2


@pytest.mark.parametrize("text", ["110,100", "100", "a,b", "-1,5", "1,2,3"])
def test_bad_profile_steps(text):
  from tfgan1.output import dashboard
  assert dashboard.parse_profile_steps("100,110") == (100, 110)
  with pytest.raises(tfgan1.UserError, match=r"^--profile_steps: .* is not allowed; expected FIRST,LAST"):
    dashboard.parse_profile_steps(text)


def test_the_tfgan1_run_console_script():
  """setup.py declares `tfgan1-run`; installed, it is the CLI (one-line errors, exit 2)."""
  import shutil
  from importlib import metadata
  assert '"console_scripts": ["tfgan1-run = tfgan1.run:entry"]' in (ROOT / "setup.py").read_text()
  found = [e for e in metadata.entry_points(group="console_scripts") if e.name == "tfgan1-run"]
  script = shutil.which("tfgan1-run")
  if not found or not script:
    pytest.skip("tfgan1 is not installed (pip install -e .)")
  import tfgan1.run
  assert found[0].load() is tfgan1.run.entry
  out = subprocess.run([script, "--config", "no/such.yaml"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False, timeout=120)
  assert out.returncode == 2 and out.stderr.startswith("error: --config: file 'no/such.yaml'")


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_long_toy_runs_evaluate_every_few_thousand_steps(name):
  """A curve in TensorBoard, not one point at the end (an eval costs 16-50 steps:
  docs/bench_notes/issue35.md)."""
  config = tfgan1.load_config(ROOT / "configs" / f"{name}.yaml")
  assert 1000 <= config.eval.every <= 5000 and config.train.steps >= 5 * config.eval.every
