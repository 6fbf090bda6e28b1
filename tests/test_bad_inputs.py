"""Every bad input a user can type is one `error:` line (exit 2), never a traceback.

A table of cases across config files, config values, plugins, data,
checkpoints and the workdir. Each runs in-process through the functions the
CLI calls (`config.load`, `Run`, `train.train_and_evaluate`) and must raise
a one-line UserError containing the expected words; a workdir the case starts
from must come out byte for byte unchanged. Only what needs a real process
(flag parsing, exit codes, --debug) runs as a subprocess, all in parallel.
"""
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ALLOW, RING8, ROOT, SMALL, snapshot as _snapshot, train_tiny as _train
from tfgan1.backends.tf2 import Run
from tfgan1 import config as config_lib
from tfgan1.errors import UserError

MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
MNIST_SMALL = ["data={name: mnist, split: test}", "generator={name: dcgan, base_channels: 4}",
               "discriminator={name: dcgan, base_channels: 4}", "train.batch_size=4",
               "noise.dim=8"]
FILE_BASE = ("data: {name: ring8}\ngenerator: {name: mlp, hidden: [16]}\n"
             "discriminator: {name: mlp, hidden: [16]}\nloss: hinge\n")


def _nested(depth):
  return "generator: " + "{a: " * depth + "1" + "}" * depth + "\n"


_BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdef", "bcdefg"))

# (id, file bytes, expected words)
FILE_CASES = [
    ("int_key", b"1: 2\n", "keys must be strings"),
    ("int_key_in_plugin", (FILE_BASE + "noise: {dim: 2, 3: x}\n").encode(), "keys must be strings"),
    ("bool_key", b"true: 1\n", "keys must be strings"),
    ("null_key", b"~: 1\n", "keys must be strings"),
    ("list_key", b"? [a, b]\n: 1\n", "keys must be strings"),
    ("deep_lists", b"a: " + b"[" * 1500 + b"]" * 1500 + b"\n", "nested too deeply"),
    ("deep_maps", (FILE_BASE.replace("generator: {name: mlp, hidden: [16]}\n", "")
                   + _nested(40)).encode(), "nested deeper than 32"),
    ("alias_bomb", _BOMB.encode(), "more than 100000 values"),
    ("latin1", (FILE_BASE + "# caf\xe9\n").encode("latin-1"), "not UTF-8"),
    ("binary", b"\xff\xfe\x00\x01garbage", "not UTF-8"),
    ("nul_char", b"a: \x00\n", "not valid YAML"),
    ("python_tag", b"a: !!python/object/apply:os.system [ls]\n", "not valid YAML"),
    ("top_list", b"- 1\n- 2\n", "must hold a mapping"),
    ("repeated_key", (FILE_BASE + "seed: 1\nseed: 2\n").encode(), "appears twice"),
    ("tab_indent", b"train:\n\tsteps: 1\n", "not valid YAML"),
    ("empty_file", b"", "missing"),
]


@pytest.mark.parametrize("name,content,expected", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_config_file(tmp_path, name, content, expected):
  path = tmp_path / f"{name}.yaml"
  path.write_bytes(content)
  _expect(lambda: config_lib.load(str(path)), expected)


def test_config_path_missing_or_folder(tmp_path):
  _expect(lambda: config_lib.load(str(tmp_path / "nope.yaml")), "does not exist")
  _expect(lambda: config_lib.load(str(tmp_path)), "is a directory")


# (id, --set overrides on ring8, expected words). A case that loads is built as
# a run is (Run), so sizes that cannot be allocated are found there.
SET_CASES = [
    ("steps_int64", ["train.steps=9223372036854775808"], "64 bits"),
    ("steps_1e30", ["train.steps=1000000000000000000000000000000"], "64 bits"),
    ("batch_below_int64", ["train.batch_size=-9223372036854775809"], "64 bits"),
    ("seed_2_32", ["seed=4294967296"], "must be <= 4294967295"),
    ("seed_hex", ["seed=0x100000000"], "must be <= 4294967295"),
    ("seed_negative", ["seed=-1"], "must be >= 0"),
    ("noise_dim_huge", ["noise.dim=100000000000"], "cannot be allocated"),
    ("noise_dim_int64", ["noise.dim=18446744073709551616"], "64 bits"),
    ("batch_huge", ["train.batch_size=1000000000000"], "cannot be allocated"),
    ("hidden_huge", ["generator.hidden=[4611686018427387904]"], "more than 2**63 - 1 elements"),
    ("hidden_int64", ["discriminator.hidden=[99999999999999999999]"], "64 bits"),
    ("optimizer_kwarg_nan", ["optimizer.beta_1=.nan"], "finite"),
    ("optimizer_kwarg_inf", ["optimizer.epsilon=.inf"], "finite"),
    ("lr_inf", ["optimizer.learning_rate=.inf"], "finite"),
    ("lr_negative", ["optimizer.learning_rate=-1"], "must be > 0.0"),
    ("d_optimizer_nan", ["d_optimizer.learning_rate=.nan"], "finite"),
    ("loss_kwarg_nan", ["loss.name=wasserstein", "loss.clip=.nan"], "finite"),
    ("loss_kwarg_inf", ["loss.name=least_squares", "loss.a=-.inf"], "finite"),
    ("data_kwarg_inf", ["data.std=.inf"], "finite"),
    ("penalty_every_zero", ["penalties=[{name: r1, every: 0}]"], "must be >= 1"),
    ("penalty_every_negative", ["penalties=[{name: r1, every: -5}]"], "must be >= 1"),
    ("penalty_weight_nan", ["penalties=[{name: r1, weight: .nan}]"], "finite"),
    ("penalty_weight_negative", ["penalties=[{name: r1, weight: -1}]"], "must be >= 0.0"),
    ("penalty_kwarg_nan", ["penalties=[{name: gradient_penalty, target: .nan}]"], "finite"),
    ("ema_decay_one", ["ema.decay=1.0"], "must be < 1.0"),
    ("lambda_zero", ["train.lambda=0"], "must be > 0.0"),
    ("steps_overflowing_float", ["train.steps=1e400"], "finite"),
    ("log_every_zero", ["train.log_every=0"], "must be >= 1"),
    ("eval_samples_int64", ["eval.num_samples=9223372036854775808"], "64 bits"),
    ("unknown_loss", ["loss.name=nope"], "unknown loss"),
    ("unknown_loss_kwarg", ["loss.foo=1"], "does not take these arguments"),
    ("set_without_equals", ["train.steps"], "expected key.path=value"),
    ("set_empty_key", ["train..steps=1"], "expected key.path=value"),
    ("set_into_scalar", ["seed.x=1"], "not a section"),
]


@pytest.mark.parametrize("name,sets,expected", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_config_value(plugins_loaded, name, sets, expected):
  _expect(lambda: _build(RING8, SMALL + sets), expected)


_LOSS_OK = ("  def discriminator_loss(self, real_logits, fake_logits):\n"
            "    return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)\n")
_G_OK = ("  def generator_loss(self, fake_logits, real_logits):\n"
         "    return -tf.reduce_mean(fake_logits)\n")
_HEAD = "import tensorflow as tf\nfrom tfgan1 import LOSSES, PENALTIES\n"

# (id, plugin source with {key} for its registry key, overrides, expected words)
PLUGIN_CASES = [
    ("loss_without_generator_loss",
     f"@LOSSES.register('{{key}}')\nclass L:\n{_LOSS_OK}", ["loss.name={key}"],
     "has no generator_loss(fake_logits, real_logits)"),
    ("loss_without_discriminator_loss",
     f"@LOSSES.register('{{key}}')\nclass L:\n{_G_OK}", ["loss.name={key}"],
     "has no discriminator_loss(real_logits, fake_logits)"),
    ("generator_loss_one_arg",
     f"@LOSSES.register('{{key}}')\nclass L:\n{_LOSS_OK}"
     "  def generator_loss(self, fake_logits):\n    return 0.0\n", ["loss.name={key}"],
     "cannot be called with 2 arguments"),
    ("discriminator_loss_three_args",
     f"@LOSSES.register('{{key}}')\nclass L:\n{_G_OK}"
     "  def discriminator_loss(self, a, b, c):\n    return 0.0\n", ["loss.name={key}"],
     "cannot be called with 2 arguments"),
    ("loss_method_not_callable",
     f"@LOSSES.register('{{key}}')\nclass L:\n{_LOSS_OK}  generator_loss = 3\n",
     ["loss.name={key}"], "has no generator_loss"),
    ("loss_factory_returns_none",
     "@LOSSES.register('{key}')\ndef make():\n  return None\n", ["loss.name={key}"],
     "has no discriminator_loss"),
    ("loss_init_rejects",
     f"@LOSSES.register('{{key}}')\nclass L:\n  def __init__(self, k=1):\n"
     f"    raise ValueError('k must be odd')\n{_LOSS_OK}{_G_OK}", ["loss.name={key}"],
     "rejected its arguments"),
    ("penalty_two_args",
     "@PENALTIES.register('{key}')\ndef make():\n  return lambda d_call, real: 0.0\n",
     ["penalties=[{name: {key}}]"], "cannot be called with 4 arguments"),
    ("penalty_not_callable",
     "@PENALTIES.register('{key}')\ndef make():\n  return 5\n",
     ["penalties=[{name: {key}}]"], "penalty plugin"),
    ("plugin_import_error", "raise RuntimeError('broken plugin')\n", [], "cannot load plugin"),
    ("plugin_syntax_error", "def f(:\n", [], "cannot load plugin"),
    ("plugin_duplicate_key", f"@LOSSES.register('hinge')\nclass L:\n{_LOSS_OK}{_G_OK}", [],
     "already registered"),
]


@pytest.mark.parametrize("name,source,sets,expected", PLUGIN_CASES,
                         ids=[c[0] for c in PLUGIN_CASES])
def test_plugin(plugins_loaded, tmp_path, name, source, sets, expected):
  from tfgan1.registry import loader as plugin_loader
  key = f"bad_{name}"
  path = tmp_path / f"{key}.py"
  path.write_text(_HEAD + source.replace("{key}", key))
  sets = [s.replace("{key}", key) for s in sets]
  _expect(lambda: (plugin_loader.load_user_plugin(str(path)), _build(RING8, SMALL + sets)),
          expected)


def _mnist_gz(tmp_path, damage):
  """A folder holding the real MNIST test images, damaged by `damage(bytes)`."""
  folder = tmp_path / "mnist"
  folder.mkdir()
  data = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()
  (folder / "t10k-images-idx3-ubyte.gz").write_bytes(damage(data))
  return folder


def _flip_middle(data):
  data = bytearray(data)
  for i in range(len(data) // 2, len(data) // 2 + 64):
    data[i] ^= 0xFF
  return bytes(data)


def _raw_idx(tmp_path, header, size):
  folder = tmp_path / "mnist"
  folder.mkdir()
  body = np.array(header, ">i4").tobytes() + bytes(size)
  (folder / "t10k-images-idx3-ubyte").write_bytes(body)
  return folder


def _npz(tmp_path, **arrays):
  path = tmp_path / "m.npz"
  np.savez(path, **arrays)
  return path


def _file(tmp_path, name, content):
  path = tmp_path / name
  path.write_bytes(content)
  return path


def _real_npz_cut(tmp_path):
  path = _npz(tmp_path, x_test=np.zeros([50, 28, 28], np.uint8))
  path.write_bytes(path.read_bytes()[:300])
  return path


def _labels_cut(tmp_path):
  folder = _mnist_gz(tmp_path, lambda d: d)
  labels = gzip.compress(np.array([2049, 10000], ">i4").tobytes() + bytes(100))
  (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(labels)
  return folder


# (id, makes data.path from tmp_path, expected words)
DATA_CASES = [
    ("gz_truncated", lambda t: _mnist_gz(t, lambda d: d[:len(d) // 2]), "truncated or corrupt"),
    ("gz_bit_flipped", lambda t: _mnist_gz(t, _flip_middle), "truncated or corrupt"),
    ("gz_not_gzip", lambda t: _mnist_gz(t, lambda d: b"not gzip at all" * 10), "cannot read"),
    ("idx_wrong_magic", lambda t: _raw_idx(t, [1234, 10, 28, 28], 7840), "magic number"),
    ("idx_short_data", lambda t: _raw_idx(t, [2051, 10, 28, 28], 100), "truncated"),
    ("idx_not_28x28", lambda t: _raw_idx(t, [2051, 10, 32, 32], 10240), "not 28x28"),
    ("labels_truncated", _labels_cut, "labels"),
    ("npz_pickled", lambda t: _npz(t, x_test=np.array([{"a": 1}], object)), "pickled"),
    ("npz_is_text", lambda t: _file(t, "m.npz", b"just some text\n" * 20), "not a readable .npz"),
    ("npz_truncated", _real_npz_cut, "not a readable .npz"),
    ("npz_float_images", lambda t: _npz(t, x_test=np.zeros([5, 28, 28])), "expected uint8 28x28"),
    ("npz_wrong_shape", lambda t: _npz(t, x_test=np.zeros([5, 32, 32], np.uint8)),
     "expected uint8 28x28"),
    ("npz_wrong_keys", lambda t: _npz(t, a=np.zeros([5, 28, 28], np.uint8)), "has no x_test"),
    ("npy_not_npz", lambda t: _file(t, "m.npz", _npy_bytes()), "holds one array"),
    ("path_missing", lambda t: t / "nope", "does not exist"),
]


def _npy_bytes():
  import io
  buf = io.BytesIO()
  np.save(buf, np.zeros([5, 28, 28], np.uint8))
  return buf.getvalue()


@pytest.mark.parametrize("name,make,expected", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_data(plugins_loaded, tmp_path, name, make, expected):
  if not MNIST_DIR.is_dir():
    pytest.skip("no MNIST in ../shared/data/mnist")
  path = make(tmp_path)
  _expect(lambda: _build(RING8, MNIST_SMALL + [f"data.path={path}"]), expected)


def _damage_all(pattern, damage):
  def apply(workdir):
    for path in (workdir / "checkpoints").glob(pattern):
      path.write_bytes(damage(path.read_bytes()))
    return workdir
  return apply


def _replace(rel, content):
  def apply(workdir):
    path = workdir / rel
    if path.is_dir():
      shutil.rmtree(path)
    else:
      path.unlink()
    if content is None:
      path.mkdir()
    else:
      path.write_bytes(content)
    return workdir
  return apply


# (id, damages a copy of the finished run, overrides, expected words)
WORKDIR_CASES = [
    ("ckpt_all_truncated", _damage_all("*.data-*", lambda d: d[:40]), [],
     "no intact checkpoint left"),
    ("ckpt_all_bit_flipped", _damage_all("*.data-*", _flip_middle), [],
     "no intact checkpoint left"),
    ("ckpt_all_index_garbage", _damage_all("*.index", lambda d: b"garbage" * 9), [],
     "no intact checkpoint left"),
    ("ckpt_other_architecture", lambda w: w, ["generator.hidden=[8]", "train.steps=6", ALLOW],
     "cannot be restored into this config"),
    ("saved_config_differs", lambda w: w, ["optimizer.beta_1=0.9"],
     "optimizer.beta_1 (0.5 -> 0.9)"),
    # A bad value is refused as such, not judged a config change (nor skipped as finished).
    ("bad_value_on_saved_run", lambda w: w, ["discriminator.pack=two"],
     "discriminator.pack: 'two' is not allowed"),
    ("bad_value_allowed_change", lambda w: w, ["discriminator.pack=two", ALLOW],
     "discriminator.pack: 'two' is not allowed"),
    ("backend_switch", lambda w: w, ["train.backend=tf1_graph", "train.steps=6", ALLOW],
     "was trained with backend 'tf2', whose checkpoint (optimizer state included) "
     "backend 'tf1_graph' cannot read; resume it with --set train.backend=tf2"),
    ("saved_config_garbage", _replace("config.yaml", b"{: ["), [], "cannot be read"),
    ("checkpoints_is_file", _replace("checkpoints", b"x"), [], "should be a folder"),
    ("config_yaml_is_folder", _replace("config.yaml", None), [], "should be a file"),
    ("workdir_is_file", lambda w: _file(w, "afile", b"x"), [], "is a file"),
    ("parent_is_file", lambda w: _file(w, "afile", b"x") / "run", [], "is a file, not a folder"),
]


@pytest.mark.parametrize("name,damage,sets,expected", WORKDIR_CASES,
                         ids=[c[0] for c in WORKDIR_CASES])
def test_workdir(finished_run, tmp_path, name, damage, sets, expected):
  copy = tmp_path / "run"
  shutil.copytree(finished_run, copy)
  workdir = damage(copy)
  before = _snapshot(tmp_path)
  _expect(lambda: _train(workdir, sets), expected)
  assert _snapshot(tmp_path) == before


@pytest.mark.skipif(sys.platform != "linux" or not os.path.isdir("/sys/kernel"),
                    reason="needs Linux sysfs (not writable, even by root)")
@pytest.mark.parametrize("workdir", ["/sys/kernel", "/sys/kernel/tfgan1_run/x"])
def test_unwritable_workdir(plugins_loaded, workdir):
  _expect(lambda: _train(workdir, []), "is not writable")


def test_locked_workdir(finished_run, tmp_path):
  from tfgan1.runner import workdir as workdir_lib
  copy = tmp_path / "run"
  shutil.copytree(finished_run, copy)
  with workdir_lib.Lock(str(copy)) as holder:
    holder.start()
    before = _snapshot(copy)
    _expect(lambda: _train(copy, ["train.steps=6"]), f"in use by process {os.getpid()}")
    assert _snapshot(copy) == before
  assert not (copy / ".lock").exists()


# Only these need a process of their own: absl's flag parsing, exit codes, --debug.
CLI_CASES = [
    ("unknown_flag", ["--config", RING8, "--no_such_flag=1"], "Unknown command line flag"),
    ("misspelt_flag", ["--config", RING8, "--verfy"], "verify"),
    ("bool_flag_value", ["--config", RING8, "--verify=maybe"], "--verify"),
    ("positional", ["--config", RING8, "extra"], "unexpected arguments"),
    ("bad_value", ["--config", RING8, "--set", "seed=4294967296"], "seed"),
]


def test_cli_one_line_exit_2_and_debug(tmp_path):
  runs = {name: _popen(args) for name, args, _ in CLI_CASES}
  runs["debug"] = _popen(["--config", RING8, "--set", "seed=-1", "--debug"])
  results = {name: p.communicate(timeout=300) + (p.returncode,) for name, p in runs.items()}
  for name, _, expected in CLI_CASES:
    _, err, code = results[name]
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1, (name, err[-2000:])
    assert lines[0].startswith("error: ") and expected in lines[0], (name, lines)
  _, err, code = results["debug"]
  assert code != 2 and "Traceback (most recent call last)" in err
  assert "UserError: seed: -1 is not allowed" in err


def _popen(args):
  return subprocess.Popen([sys.executable, "-m", "tfgan1.run", *args], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _build(config_path, sets):
  return Run(config_lib.load(config_path, sets))


def _expect(fn, expected):
  with pytest.raises(UserError) as info:
    fn()
  message = str(info.value)
  assert "\n" not in message, message
  assert expected in message, message


def test_table_size():
  cases = (FILE_CASES + SET_CASES + PLUGIN_CASES + DATA_CASES + WORKDIR_CASES + CLI_CASES)
  assert len(cases) + 2 + 2 + 1 >= 60  # + path, unwritable, lock tests
