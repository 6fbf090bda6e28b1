"""Docs that cannot rot: every command, link, runnable example, config and tool
named in README.md and docs/ is checked against the code (issue 30).

- every `python -m tfgan1.run` / `tfgan1-run` command in a bash block parses: its
  flags exist and its `--set` keys and values load as the CLI loads them;
- every `python tools/X.py` command names a tool whose `--help` lists its flags;
- every runnable Python block and every example under examples/ runs, on a tiny
  config (tests/docs_runner.py);
- every relative link and image resolves, anchors included;
- the front page, the benchmarks and the config headers keep their sizes, every
  guide page is reachable from the README, and the site builds with
  `mkdocs build --strict` when the `[docs]` extra is installed.
"""
import ast
import functools
import json
import os
import re
import subprocess
import sys

import pytest

from tests import docs_blocks
from tests.docs_blocks import ROOT
import tfgan1
from tfgan1 import api

DOCS = docs_blocks.doc_files()
BLOCKS = [b for path in DOCS for b in docs_blocks.blocks(path)]
SCRIPTS = sorted(p for p in (ROOT / "tools").glob("*.py")
                 if p.name not in ("toolkit.py", "random_images.py"))
# The examples' own lengths, shrunk as a runnable block's `replace` does.
EXAMPLE_REPLACE = {"ring_fit.py": {"epochs=20, steps_per_epoch=1000": "epochs=1, steps_per_epoch=5",
                                   "[2500, 2]": "[200, 2]"},
                   "tf1_mnist_classic.py": {
                       "STEPS, BATCH, NOISE, NUM_EVAL = 3000, 64, 64, 5000":
                           "STEPS, BATCH, NOISE, NUM_EVAL = 3, 64, 64, 100",
                       '"../shared/data/mnist"': repr(str(ROOT.parent / "shared" / "data" / "mnist"))}}
# Examples that read the MNIST test set beside the repo: left out where it is missing.
NEEDS_MNIST = {"tf1_mnist_classic.py"}


def _commands(prefixes):
  found = []
  for block in BLOCKS:
    if block.lang in ("bash", "sh"):
      for words in docs_blocks.commands(block):
        if words[:len(prefixes[0])] in prefixes or words[:1] in prefixes:
          found.append((block, words))
  return found


def _run_commands():
  prefixes = (["python", "-m", "tfgan1.run"], ["tfgan1-run"])
  return [(b, w[1 if w[0] == "tfgan1-run" else 3:]) for b, w in _commands(prefixes)]


def _tool_commands():
  return [(b, w) for b, w in _commands((["python"],)) if len(w) > 1 and w[1].startswith("tools/")]


@pytest.fixture(scope="module")
def _doc_files(tmp_path_factory):
  """One folder per worker holding the docs' `file:` blocks, with configs/ linked
  (one path, so a plugin file the docs name twice is loaded once)."""
  folder = tmp_path_factory.mktemp("doc_files")
  for block in BLOCKS:
    if block.marker == "file":
      (folder / block.argument).write_text(block.text + "\n", encoding="utf-8")
  (folder / "configs").symlink_to(ROOT / "configs")
  return folder


@pytest.fixture()
def doc_files_dir(_doc_files, monkeypatch):
  monkeypatch.chdir(_doc_files)
  return _doc_files


def _parse_run_flags(argv):
  # Read from the source: importing tfgan1.run would define its flags in this
  # process, where a tool's test defines the same names.
  known = set(re.findall(r'flags\.DEFINE_\w+\(\s*"(\w+)"', (ROOT / "tfgan1" / "run.py").read_text()))
  assert {"config", "set", "workdir", "verify"} <= known
  options = {"set": [], "plugin": []}
  for word in argv:
    if not word.startswith("--"):
      continue
    name, _, value = word[2:].partition("=")
    assert name.removeprefix("no") in known, f"unknown flag --{name}; known: {sorted(known)}"
    if name in options:
      options[name].append(value)
    else:
      options[name] = value
  return options


def _with_values(argv):
  """`--flag value` pairs joined into `--flag=value`."""
  joined, words = [], list(argv)
  while words:
    word = words.pop(0)
    if word.startswith("--") and "=" not in word and words and not words[0].startswith("--"):
      word = f"{word}={words.pop(0)}"
    joined.append(word)
  return joined


def test_the_docs_name_commands():
  assert len(_run_commands()) >= 20 and len(_tool_commands()) >= 10


@pytest.mark.parametrize("block,argv", _run_commands(),
                         ids=lambda x: x.where() if hasattr(x, "where") else "")
def test_run_commands_parse(doc_files_dir, block, argv):
  options = _parse_run_flags(_with_values(argv))
  if "config" not in options:
    return  # --list_plugins
  config = api.load_config(options["config"], options["set"])
  api.with_plugins(config, options["plugin"])


@functools.lru_cache(maxsize=None)
def _tool_help(script):
  done = subprocess.run([sys.executable, str(ROOT / "tools" / script), "--help"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120, check=False)
  return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_tools_answer_help(script):
  code, out = _tool_help(script.name)
  assert code in (0, 1), out  # absl exits 1 after --help
  assert "Traceback" not in out, out[-2000:]
  usage = ast.get_docstring(ast.parse(script.read_text())).splitlines()[0]
  assert usage in out and "--" in out, out[-2000:]


@pytest.mark.parametrize("block,argv", _tool_commands(),
                         ids=lambda x: x.where() if hasattr(x, "where") else "")
def test_tool_commands_parse(doc_files_dir, block, argv):
  script = argv[1].removeprefix("tools/")
  assert (ROOT / "tools" / script).is_file(), f"{block.where()}: no tools/{script}"
  _, out = _tool_help(script)
  known = set(re.findall(r"--(?:\[no\])?([\w.-]+)", out))
  for word in _with_values(argv[2:]):
    if word.startswith("--"):
      name, _, value = word[2:].partition("=")
      assert name.removeprefix("no") in known, f"{block.where()}: {script} has no --{name}"
      if name == "set":
        api.load_config("configs/ring8.yaml", [value])


def test_runnable_blocks_and_examples_run(tmp_path):
  specs = [{"where": b.where(), "set": b.argument.get("set", []),
            "source": _replaced(b.text, b.argument.get("replace", {}))}
           for b in BLOCKS if b.marker == "runnable"]
  for example in sorted((ROOT / "examples").glob("*.py")):
    if example.name in NEEDS_MNIST and not (ROOT.parent / "shared" / "data" / "mnist").is_dir():
      continue
    specs.append({"where": str(example.relative_to(ROOT)), "set": [],
                  "source": _replaced(example.read_text(), EXAMPLE_REPLACE.get(example.name, {}))})
  assert len(specs) >= 5
  (tmp_path / "specs.json").write_text(json.dumps(specs))
  (tmp_path / "configs").symlink_to(ROOT / "configs")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
  done = subprocess.run([sys.executable, str(ROOT / "tests" / "docs_runner.py"), "specs.json"],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                        check=False)
  assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
  assert done.stdout.count("RUNNING") == len(specs)


def _replaced(source, replacements):
  for old, new in replacements.items():
    assert old in source, f"the runnable block no longer contains {old!r}"
    source = source.replace(old, new)
  return source


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_links_resolve(path):
  for number, target in docs_blocks.links(path):
    if re.match(r"^[a-z]+:", target):
      continue  # http:, https:, mailto:
    file_part, _, anchor = target.partition("#")
    linked = (path.parent / file_part).resolve() if file_part else path
    assert linked.exists(), f"{path.name}:{number}: {target} does not exist"
    if anchor and linked.suffix == ".md":
      assert anchor in docs_blocks.anchors(linked), f"{path.name}:{number}: no #{anchor} in {target}"


def test_every_guide_page_is_reachable_from_the_readme():
  seen, todo = set(), [ROOT / "README.md"]
  while todo:
    page = todo.pop()
    if page in seen or page.suffix != ".md":
      continue
    seen.add(page)
    todo += [(page.parent / t.partition("#")[0]).resolve() for _, t in docs_blocks.links(page)
             if not re.match(r"^[a-z]+:", t) and t.partition("#")[0]]
  pages = set((ROOT / "docs").rglob("*.md"))
  assert not pages - seen, sorted(str(p.relative_to(ROOT)) for p in pages - seen)


def test_sizes():
  assert len((ROOT / "README.md").read_text().splitlines()) <= 200
  assert len((ROOT / "docs" / "BENCHMARKS.md").read_text().splitlines()) <= 420


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_config_headers(path):
  lines = path.read_text().splitlines()
  comments = [line for line in lines if line.lstrip().startswith("#")]
  assert len(comments) <= 8, f"{path.name}: {len(comments)} comment lines"
  assert any(f"--config configs/{path.name}" in line for line in comments[:3])
  assert "docs/BENCHMARKS.md" in "".join(comments)
  api.load_config(str(path))


def test_version_agrees():
  setup = (ROOT / "setup.py").read_text()
  assert f'version="{tfgan1.__version__}"' in setup
  assert f"## [{tfgan1.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_site_builds(tmp_path):
  pytest.importorskip("mkdocs", reason='the [docs] extra is not installed (pip install -e ".[docs]")')
  pytest.importorskip("mkdocstrings", reason="the [docs] extra is not installed")
  done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                         str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                        timeout=300, check=False, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  assert (tmp_path / "site" / "guide" / "getting-started" / "index.html").is_file()
  assert "train_and_evaluate" in (tmp_path / "site" / "reference" / "index.html").read_text()
