"""The package's shape: one-way imports between its layers, no cycles, small modules.

Layers, lowest first; a module may import its own layer and those below it:

    errors, tfimport < registry < config < gan < engine < output < evaluation
    < backends < runner < the top (api, run, keras, and the re-exports)

Plugins sit beside the core: they may import the core's public names, and no
core module imports a plugin (plugins are found through the entry points).
"""
import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "tfgan1"
LAYERS = ["errors", "tfimport", "registry", "config", "gan", "engine", "output",
          "evaluation", "backends", "runner"]
RANK = {name: i for i, name in enumerate(LAYERS)}
RANK["tfimport"] = RANK["errors"]  # both import nothing of ours
TOP = len(LAYERS)
MAX_MODULE_LINES, MAX_CLASS_LINES, MAX_MODULES_PER_FOLDER = 300, 150, 12


def _modules():
  """{dotted name: path} of every core module (plugins left out)."""
  out = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[1:2] == ("plugins",):
      continue
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    out[name] = path
  return out


def _rank(module):
  parts = module.split(".")
  return RANK.get(parts[1], TOP) if len(parts) > 1 else TOP


def _imports(path, module, top_level_only=False):
  """The tfgan1 modules `path` imports (resolved to modules, not names)."""
  tree = ast.parse(path.read_text())
  nodes = tree.body if top_level_only else ast.walk(tree)
  known = _modules()
  found = set()
  for node in nodes:
    if isinstance(node, ast.Import):
      found.update(a.name for a in node.names if a.name.startswith("tfgan1"))
    elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfgan1"):
      for alias in node.names:
        full = f"{node.module}.{alias.name}"
        found.add(full if full in known or full.startswith("tfgan1.plugins") else node.module)
  found.discard(module)
  return found


def test_imports_run_one_way():
  wrong = []
  for module, path in _modules().items():
    for imported in _imports(path, module):
      if imported.startswith("tfgan1.plugins"):
        wrong.append(f"{module} imports the plugin {imported}")
      elif imported != "tfgan1" and _rank(imported) > _rank(module):
        wrong.append(f"{module} imports {imported} (a higher layer)")
  assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
  graph = {m: _imports(p, m, top_level_only=True) for m, p in _modules().items()}
  state = {}

  def visit(node, trail):
    if state.get(node) == "done":
      return
    if state.get(node) == "open":
      raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
    state[node] = "open"
    for nxt in sorted(graph.get(node, ())):
      if nxt in graph and nxt != "tfgan1":
        visit(nxt, trail + [node])
    state[node] = "done"

  for module in sorted(graph):
    visit(module, [])


def test_layering_test_sees_a_wrong_way_import(tmp_path):
  """The check above fails on a config module that imports the engine."""
  fake = tmp_path / "tfgan1" / "config"
  fake.mkdir(parents=True)
  (fake / "bad.py").write_text("from tfgan1.engine import trainer\n")
  assert _imports(fake / "bad.py", "tfgan1.config.bad") == {"tfgan1.engine.trainer"}
  assert _rank("tfgan1.engine.trainer") > _rank("tfgan1.config.bad")


@pytest.mark.parametrize("package", ["tfgan1", "tfgan1.config", "tfgan1.registry"])
def test_importing_without_tensorflow(package):
  code = (f"import sys, {package}; "
          "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, cwd=ROOT)
  assert out.stdout.strip() == "[]"


def test_small_modules_and_classes():
  big = []
  for module, path in _modules().items():
    lines = path.read_text().splitlines()
    if len(lines) > MAX_MODULE_LINES:
      big.append(f"{module}: {len(lines)} lines")
    for node in ast.walk(ast.parse("\n".join(lines))):
      if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
        big.append(f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
  assert not big, big


def test_folders_are_short_and_names_have_no_prefix_packages():
  for folder in [PACKAGE] + [p for p in PACKAGE.rglob("*") if p.is_dir()]:
    if "__pycache__" in folder.parts:
      continue
    modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES_PER_FOLDER, (folder, len(modules))
    assert not [p.name for p in modules if p.name.startswith("tf1_")], folder
