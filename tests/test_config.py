"""Config loading: types, ranges, unknown keys, overrides, and CLI bad input.

Every bad input must end with one line on stderr naming the field, the bad value
and what is allowed, exit code 2, and no workdir created.
"""
import textwrap

import pytest

from tfgan1 import config as config_lib
from tfgan1.errors import UserError
from tfgan1.registry import RULE_MODULES

MINIMAL = {"generator": "mlp", "discriminator": "mlp", "loss": "hinge", "data": "ring8"}


def test_defaults_and_overrides():
  cfg = config_lib.from_dict(dict(MINIMAL), [
      "train.steps=7", "train.lambda=0.5", "optimizer.learning_rate=3e-4",
      "generator.hidden=[8, 8]", "loss.name=non_saturating", "ema.decay=0.99"])
  assert cfg.train.steps == 7 and cfg.train.lambda_ == 0.5
  assert cfg.optimizer.learning_rate == pytest.approx(3e-4)
  assert cfg.generator.name == "mlp" and dict(cfg.generator.kwargs) == {"hidden": [8, 8]}
  assert cfg.loss.name == "non_saturating"
  assert cfg.ema.decay == 0.99 and cfg.ema.start == 0
  assert cfg.train.rule == "one_step" and cfg.seed == 0


def test_config_is_frozen():
  cfg = config_lib.from_dict(dict(MINIMAL))
  with pytest.raises(Exception):
    cfg.train.steps = 3  # frozen dataclass
  with pytest.raises(TypeError):
    cfg.loss.kwargs["x"] = 1  # read-only mapping


def test_round_trip_through_yaml(tmp_path):
  from tfgan1.config import yamlio
  cfg = config_lib.from_dict(dict(MINIMAL), ["loss.margin=2", "penalties=[{name: r1, weight: 10}]",
                                             "d_optimizer.learning_rate=4e-4"])
  path = tmp_path / "c.yaml"
  path.write_text(yamlio.dump(config_lib.to_dict(cfg)))
  assert config_lib.load(str(path)) == cfg


def test_per_network_optimizers_merge_over_shared():
  cfg = config_lib.from_dict(dict(MINIMAL), ["optimizer.beta_1=0.5", "d_optimizer.learning_rate=4e-4"])
  d_spec, g_spec = config_lib.network_optimizers(cfg)
  assert d_spec.learning_rate == pytest.approx(4e-4) and g_spec.learning_rate == pytest.approx(2e-4)
  assert d_spec.kwargs["beta_1"] == 0.5 and g_spec.kwargs["beta_1"] == 0.5



def test_a_network_optimizer_splits_the_joint_one():
  from tfgan1.engine import optimizers  # pylint: disable=g-import-not-at-top  (imports TF)
  cfg = config_lib.from_dict(dict(MINIMAL), ["d_optimizer.learning_rate=4e-4"])
  assert not optimizers.joint(cfg)
  assert optimizers.joint(config_lib.from_dict(dict(MINIMAL)))
  assert not optimizers.joint(config_lib.from_dict(dict(MINIMAL), ["train.rule=simultaneous"]))


GOOD = textwrap.dedent("""\
    data: {name: ring8}
    generator: {name: mlp, hidden: [8]}
    discriminator: {name: mlp, hidden: [8]}
    loss: {name: hinge}
    train: {steps: 2, batch_size: 8}
    """)

# (extra CLI args, YAML text or None for GOOD, expected piece of the one-line error)
BAD = [
    ([], None, "--config: missing"),
    (["--config", "does/not/exist.yaml"], "",
     "--config: file 'does/not/exist.yaml' (= '{cwd}/does/not/exist.yaml' from the current "
     "directory '{cwd}') does not exist"),
    ([], "train: [unclosed", "is not valid YAML"),
    ([], "- a\n- b\n", "must hold a mapping of keys, got a list"),
    ([], GOOD.replace("loss: {name: hinge}", "loss: {name: hinge, name: minimax}"),
     "key 'name' appears twice in one mapping (line 4); keep one"),
    (["--set", "trian.steps=3"], None, "trian: unknown key; did you mean 'train'?"),
    (["--set", "train.stpes=3"], None, "train.stpes: unknown key; did you mean 'steps'?"),
    (["--set", "train.steps=0"], None, "train.steps: 0 is not allowed; must be >= 1"),
    (["--set", "train.batch_size=-4"], None, "train.batch_size: -4 is not allowed; must be >= 1"),
    (["--set", "optimizer.learning_rate=0"], None,
     "optimizer.learning_rate: 0.0 is not allowed; must be > 0.0"),
    (["--set", "train.rule=sideways"], None,
     "train.rule: 'sideways' is not allowed; choose one of: " + ", ".join(sorted(RULE_MODULES))),
    (["--set", "train.jit_compile=maybe"], None,
     "train.jit_compile: 'maybe' is not allowed; expected true or false"),
    (["--set", "train.steps=ten"], None, "train.steps: 'ten' is not allowed; expected an integer"),
    (["--set", "train.steps"], None, "--set: 'train.steps' is not allowed; expected key.path=value"),
    (["--set", "train.lambda=-1"], None, "train.lambda: -1.0 is not allowed; must be > 0.0"),
    (["--set", "ema.decay=1.5"], None, "ema.decay: 1.5 is not allowed; must be < 1.0"),
    (["--set", "noise.distribution=cauchy"], None,
     "noise.distribution: 'cauchy' is not allowed; choose one of: normal, uniform"),
    ([], GOOD.replace("loss: {name: hinge}\n", ""), "loss: missing; required"),
    (["--set", "loss.name=hinj"], None, "loss.name: unknown loss 'hinj'; known: "),
    (["--set", "data.name=ring9"], None, "data.name: unknown dataset 'ring9'; known: "),
    (["--set", "loss.bogus=1"], None, "loss: 'hinge' does not take these arguments"),
    (["--set", "generator.hidden=[0]"], None, "generator.hidden: [0] is not allowed"),
    (["--set", "data.std=-1"], None, "data.std: -1 is not allowed; must be a number > 0"),
    (["--set", "optimizer.name=adamz"], None, "optimizer.name: 'adamz' is not allowed; choose one of: "),
    (["--set", "penalties=[{name: nope}]"], None, "penalties[0].name: unknown penalty 'nope'"),
    (["--set", "discriminator.pack=3"], None,
     "discriminator: 'mlp' fails on a batch of 8 samples (train.batch_size)"),
    (["--plugin", "/nonexistent/my_plugin.py"], None,
     "--plugin: plugin file '/nonexistent/my_plugin.py' does not exist"),
    (["--plugin", "no_such_module_xyz"], None,
     "--plugin: cannot load plugin 'no_such_module_xyz': ModuleNotFoundError"),
]


# The cases that still start `python -m tfgan1.run`, one of each error path: the
# flags, the YAML file, a plugin key (TensorFlow loaded: its chatter must not
# show), a --plugin module, a network that fails when built. The others run the
# same flag parsing and main() in process (conftest.cli_here): ~7 s less each.
IN_A_PROCESS = ("--config: missing", "is not valid YAML", "loss.name: unknown loss",
                "--plugin: cannot load plugin", "discriminator: 'mlp' fails on a batch")


@pytest.mark.parametrize("args,text,expected", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_is_one_line_exit_2(cli, cli_here, tmp_path, args, text, expected):
  workdir = tmp_path / "run"
  cfg = tmp_path / "c.yaml"
  cfg.write_text(GOOD if text is None else text)
  base = [] if "--config" in args or expected.startswith("--config: missing") else ["--config", cfg]
  call = cli if expected.startswith(IN_A_PROCESS) else cli_here
  out = call(*base, *args, "--workdir", workdir, cwd=tmp_path)
  lines = [line for line in out.stderr.splitlines() if line.strip()]
  assert out.returncode == 2, out.stderr
  assert len(lines) == 1, out.stderr  # no traceback, no TensorFlow chatter
  expected = expected.replace("{cwd}", str(tmp_path))  # relative paths are shown resolved
  assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
  assert not workdir.exists()


def test_each_error_path_keeps_a_real_process():
  matched = [b[2] for b in BAD if b[2].startswith(IN_A_PROCESS)]
  assert len(matched) == len(IN_A_PROCESS), matched


def test_workdir_that_is_a_file(cli_here, tmp_path):
  cfg = tmp_path / "c.yaml"
  cfg.write_text(GOOD)
  target = tmp_path / "afile"
  target.write_text("keep me")
  out = cli_here("--config", cfg, "--workdir", target)
  assert out.returncode == 2
  assert f"--workdir: '{target}' is a file; expected a folder" in out.stderr
  assert target.read_text() == "keep me"


def test_unknown_key_in_library_use():
  with pytest.raises(UserError, match=r"^train.log_evry: unknown key; did you mean 'log_every'\?"):
    config_lib.from_dict(dict(MINIMAL, train={"log_evry": 3}))
