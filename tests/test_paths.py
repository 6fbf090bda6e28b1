"""Relative paths in a config: a file's against its folder, the command line's
against the current directory, all absolute once loaded (tfgan1.config.paths)."""
import os

import pytest

from tfgan1 import config as config_lib
from tfgan1.config import paths
from tfgan1.runner import resume_record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = """generator: mlp
discriminator: mlp
loss: hinge
data: {name: image_folder, path: pictures, size: 8}
plugins: [my_nets.py, some.module]
eval:
  metrics: [{name: inception, reference_stats: stats/ref.npz, graph: ~/fid}]
"""


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
  """A config in tmp_path/project, loaded from another current directory."""
  project, other = tmp_path / "project", tmp_path / "other"
  project.mkdir()
  other.mkdir()
  (project / "c.yaml").write_text(TEXT)
  monkeypatch.chdir(other)
  return project, other


def test_a_config_files_paths_are_read_against_its_folder(elsewhere):
  project, _ = elsewhere
  cfg = config_lib.load(str(project / "c.yaml"))
  assert cfg.data.kwargs["path"] == str(project / "pictures")
  metric = cfg.eval.metrics[0].kwargs
  assert metric["reference_stats"] == str(project / "stats" / "ref.npz")
  assert metric["graph"] == os.path.join(os.path.expanduser("~"), "fid")
  assert cfg.plugins == (str(project / "my_nets.py"), "some.module")  # a module name stays


def test_the_command_lines_paths_are_read_against_the_current_directory(elsewhere):
  project, other = elsewhere
  cfg = config_lib.load(str(project / "c.yaml"), ["data.path=../pics", "data.size=8"])
  assert cfg.data.kwargs["path"] == str(other.parent / "pics")
  raw = {"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
         "data": {"name": "x", "path": "d"}}
  assert config_lib.from_dict(raw).data.kwargs["path"] == str(other / "d")  # a Python dict


def test_urls_and_absolute_paths_are_kept():
  assert paths.absolute("gs://bucket/images", "/base") == "gs://bucket/images"
  assert paths.absolute("/data/x/../y", "/base") == "/data/y"
  assert paths.absolute(None, "/base") is None
  assert paths.is_path_key("cache_dir") and paths.is_path_key("path")
  assert not paths.is_path_key("name") and not paths.is_path_key("steps")


def test_the_shipped_mnist_config_finds_the_data_from_any_folder(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  cfg = config_lib.load(os.path.join(ROOT, "configs", "mnist_dcgan.yaml"))
  assert cfg.data.kwargs["path"] == os.path.normpath(os.path.join(ROOT, "..", "shared",
                                                                   "data", "mnist"))


def test_a_run_saved_by_an_older_tfgan1_still_compares_equal(tmp_path, monkeypatch):
  """Before paths were resolved, config.yaml kept them as written, from the cwd."""
  monkeypatch.chdir(tmp_path)
  raw = {"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
         "data": {"name": "x", "path": "data/mnist"}}
  workdir = tmp_path / "run"
  workdir.mkdir()
  old = config_lib.to_dict(config_lib.from_dict(raw))
  old["data"]["path"] = "data/mnist"  # as 0.2.0 wrote it
  from tfgan1.config import yamlio
  (workdir / "config.yaml").write_text(yamlio.dump(old))
  assert not resume_record.changed(str(workdir), config_lib.from_dict(raw))
  moved = dict(raw, data={"name": "x", "path": "other/mnist"})
  assert resume_record.changed(str(workdir), config_lib.from_dict(moved))
