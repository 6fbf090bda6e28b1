"""The models `bench.py` times: a shipped config plus the overrides that make it
run here (noise images where the config's data is absent), or a YAML file of
one's own (`--models path/to/config.yaml`), timed as given."""
import os

from tfgan1.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RANDOM_IMAGES = os.path.join(ROOT, "tools", "random_images.py")
MNIST = os.path.join(ROOT, "..", "shared", "data", "mnist")


def _random(size, channels):
  return [f"plugins=[{RANDOM_IMAGES}]",
          f"data={{name: random_images, size: {size}, channels: {channels}}}"]


def _mnist_data():
  if os.path.isdir(MNIST):
    return [f"data.path={MNIST}"], "MNIST (../shared/data/mnist)"
  return _random(28, 1), "random 28x28 images (../shared/data/mnist is absent)"


def is_file(name):
  """Whether a model name is a YAML file of one's own (timed as given)."""
  return name.endswith((".yaml", ".yml"))


def preset(name):
  """(config path, overrides, description) of one benchmark model."""
  if is_file(name):
    return os.path.abspath(name), [], f"{name} as given"
  if name == "ring8":
    return os.path.join(ROOT, "configs", "ring8.yaml"), [], "ring8 MLP (as shipped)"
  if name == "grid25":
    return os.path.join(ROOT, "configs", "grid25.yaml"), [], "grid25 MLP (as shipped)"
  if name in ("mnist_dcgan", "mnist_dcgan_sn"):
    data, what = _mnist_data()
    if name == "mnist_dcgan":
      # As the targets: D's spectral norm off, so that the engine's
      # rules and the hand-written references run exactly the same layers.
      return (os.path.join(ROOT, "configs", "mnist_dcgan.yaml"),
              data + ["discriminator.norm=none"], f"mnist_dcgan, D without spectral norm; {what}")
    return os.path.join(ROOT, "configs", "mnist_dcgan.yaml"), data, f"mnist_dcgan as shipped; {what}"
  if name == "cifar10_sngan":
    return (os.path.join(ROOT, "configs", "cifar10_sngan.yaml"), _random(32, 3),
            "cifar10_sngan as shipped, on random 32x32 images")
  if name == "folder_dcgan64":
    return (os.path.join(ROOT, "configs", "folder_dcgan64.yaml"), _random(64, 3),
            "folder_dcgan64 as shipped, on random 64x64 images")
  if name in ("cifar10_biggan", "cifar10_stylegan2"):
    # Random images carry no labels: the class embedding and projection head
    # (a few thousand multiply-adds of the step's millions) are left out.
    return (os.path.join(ROOT, "configs", f"{name}.yaml"),
            _random(32, 3) + ["generator.conditional=false", "discriminator.conditional=false"],
            f"{name} as shipped but unconditional, on random 32x32 images")
  path = os.path.join(ROOT, "configs", f"{name}.yaml")
  if name.startswith("mnist_"):
    data, what = _mnist_data()
    return path, data, f"{name} as shipped; {what}"
  return path, [], f"{name} as shipped"


NAMES = ("ring8", "grid25", "mnist_dcgan", "mnist_dcgan_sn", "cifar10_sngan",
         "folder_dcgan64", "cifar10_biggan", "cifar10_stylegan2")


def known():
  """The presets and every other shipped config, by name."""
  shipped = [f[:-5] for f in sorted(os.listdir(os.path.join(ROOT, "configs")))
             if f.endswith(".yaml")]
  return tuple(dict.fromkeys(NAMES + tuple(shipped)))


def check(names, flag="models"):
  """One-line error for a name that is neither a model nor an existing YAML file."""
  for name in names:
    if is_file(name) and not os.path.isfile(name):
      raise UserError(f"--{flag}: {name!r} is not a file; give a YAML run config")
    if not is_file(name) and name not in known():
      raise UserError(f"--{flag}: {name!r} is not allowed; choose from: "
                      f"{', '.join(known())}, or a YAML file (path/to/config.yaml)")
