"""The registry, plugin discovery, and the core's independence from plugins."""
import ast
import subprocess
import sys

import pytest

from tfgan1 import registry
from tfgan1.errors import UserError
from tests.conftest import ROOT


def test_register_and_get():
  reg = registry.Registry("widget")

  @reg.register("b_thing")
  class B:
    pass

  @reg.register("a_thing")
  def a():
    pass

  assert reg.get("b_thing") is B
  assert reg.get("a_thing") is a
  assert reg.keys() == ["a_thing", "b_thing"]
  assert "a_thing" in reg and len(reg) == 2


def test_duplicate_key_names_owner_module():
  reg = registry.Registry("widget")

  @reg.register("x")
  class First:
    pass

  class Second:
    pass

  with pytest.raises(KeyError) as err:
    reg.register("x")(Second)
  message = err.value.args[0]
  assert f"{First.__module__!r}" in message and "First" in message
  assert reg.get("x") is First  # the first owner is kept


def test_registering_the_same_object_twice_is_harmless():
  reg = registry.Registry("widget")

  class Same:
    pass

  reg.register("s")(Same)
  reg.register("s")(Same)
  assert reg.get("s") is Same


def test_unknown_key_lists_known_sorted():
  reg = registry.Registry("widget")
  for key in ("zeta", "alpha", "mid"):
    reg.register(key)(type(key, (), {}))
  with pytest.raises(UserError) as err:
    reg.get("nope", "loss.name")
  assert str(err.value) == "loss.name: unknown widget 'nope'; known: alpha, mid, zeta"


@pytest.mark.parametrize("key", ["Hinge", "1abc", "with-dash", "", "a b"])
def test_keys_must_be_lowercase_identifiers(key):
  with pytest.raises(ValueError, match="not allowed"):
    registry.Registry("widget").register(key)


def test_builtins_come_from_entry_points(plugins_loaded):
  import importlib.metadata
  eps = importlib.metadata.entry_points(group="tfgan1.plugins")
  assert {ep.value for ep in eps} >= {"tfgan1.plugins.losses", "tfgan1.plugins.datasets",
                                      "tfgan1.plugins.architectures"}
  assert {"hinge", "non_saturating"} <= set(registry.LOSSES.keys())
  assert {"ring8", "grid25"} <= set(registry.DATASETS.keys())
  assert "mlp" in registry.ARCHITECTURES


def _core_files():
  return sorted((ROOT / "tfgan1").glob("*.py"))


# The exceptions: tfgan1.keras.GAN's documented default, `loss="hinge"` (the
# signature issue 11 asks for), looked up in the registry like any other name;
# and "float32", a dtype name the core uses throughout, which is also the name of
# the default precision plugin (Keras' own default policy).
_ALLOWED_NAMES = {("keras.py", "hinge")}
_ALLOWED_ANYWHERE = {"float32"}


def test_core_imports_no_plugin_by_name(plugins_loaded):
  """No module of tfgan1/ imports tfgan1.plugins or spells a registered key."""
  keys = {k for reg in registry.ALL.values() for k in reg.keys()}
  assert len(keys) > 5
  for path in _core_files():
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
      else:
        names = []
      assert not any(n.startswith("tfgan1.plugins") or n == "plugins" for n in names), path
      if (isinstance(node, ast.Constant) and isinstance(node.value, str)
          and (path.name, node.value) not in _ALLOWED_NAMES
          and node.value not in _ALLOWED_ANYWHERE):
        assert node.value not in keys, f"{path.name} names plugin {node.value!r}"


def test_core_runs_without_importing_plugins():
  """Importing and configuring the core leaves the registries empty."""
  code = ("import sys, tfgan1, tfgan1.config, tfgan1.registry as r\n"
          "assert not any(m.startswith('tfgan1.plugins') for m in sys.modules)\n"
          "assert all(len(reg) == 0 for reg in r.ALL.values())\n"
          "print('clean')")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False, cwd=ROOT)
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == "clean"


def test_list_plugins_cli(cli_here):
  out = cli_here("--list_plugins")
  assert out.returncode == 0, out.stderr
  lines = dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())
  limits = {f"backend {b} limits" for b in registry.BACKEND_MODULES}
  assert set(lines) == set(registry.ALL) | {"rules", "backends"} | limits
  assert lines["backend tf2 limits"] == "architecture = Keras builders (not tf1_networks')"
  assert "train.jit_compile = false" in lines["backend tf1_graph limits"].split("; ")
  assert "hinge" in lines["losses"].split(", ")
  assert lines["rules"].split(", ") == sorted(registry.RULE_MODULES)
  assert lines["backends"] == "tf1_graph, tf2"
  assert lines["datasets"].split(", ") == sorted(lines["datasets"].split(", "))


def test_plugins_install_under_the_tfgan1_namespace(tmp_path):
  """Installed, `plugins/` is `tfgan1.plugins`, never a top-level `plugins` module."""
  code = ("import importlib.util as u, tfgan1.plugins.losses as l\n"
          "print(u.find_spec('plugins') is None, l.__name__)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False, cwd=tmp_path)
  assert out.returncode == 0, out.stderr
  assert out.stdout.split() == ["True", "tfgan1.plugins.losses"]
