"""Reference statistics files: the (mu, sigma) of a real set's features, saved once.

The layout is TTUR's and clean-fid's: an `.npz` with `mu` [D] and `sigma` [D, D]
(bioinf-jku/TTUR precalc_stats_example.py and clean-fid write exactly these two
arrays), so their published files read unchanged. tfgan1 adds `network` (the
feature network's name) and `num_images`; a file without them (a published one)
is taken as it is, since it cannot say which network made it.
"""
import os

import numpy as np

from tfgan1.errors import UserError


def save(path, mu, sigma, network, num_images, class_moments=None):
  """Writes `path` (.npz): mu, sigma, network, num_images, and for labelled data
  `class_mu` [K, D] and `class_sigma` [K, D, D] (the intra-class FD's reference)."""
  extra = {}
  if class_moments is not None:
    extra = {"class_mu": np.stack([m for m, _ in class_moments]),
             "class_sigma": np.stack([s for _, s in class_moments])}
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a bare name
    np.savez_compressed(f, mu=np.asarray(mu, np.float64), sigma=np.asarray(sigma, np.float64),
                        network=np.array(network), num_images=np.array(int(num_images)),
                        **extra)


def load(path, field="reference_stats"):
  """{mu, sigma, network (None if unnamed), num_images (None), class_moments
  ([(mu_k, sigma_k)] or None)} of a stats file;
  a missing or malformed file is a one-line UserError naming `field`."""
  if not isinstance(path, str) or not os.path.isfile(path):
    raise UserError(f"{field}: {path!r} is not a file; write one with: python "
                    "tools/fid_stats.py --config CONFIG --out stats.npz")
  try:
    with np.load(path, allow_pickle=False) as f:
      keys = set(f.files)
      stats = {k: f[k] for k in keys}
  except (OSError, ValueError) as e:
    raise UserError(f"{field}: {path!r} is not a readable .npz ({e})") from None
  if not {"mu", "sigma"} <= keys:
    raise UserError(f"{field}: {path!r} has arrays {sorted(keys)}; a statistics file "
                    "needs 'mu' and 'sigma' (TTUR / clean-fid layout)")
  mu, sigma = np.asarray(stats["mu"], np.float64), np.asarray(stats["sigma"], np.float64)
  if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
    raise UserError(f"{field}: {path!r} has mu {mu.shape} and sigma {sigma.shape}; "
                    "expected [D] and [D, D]")
  network = str(stats["network"]) if "network" in keys else None
  num = int(stats["num_images"]) if "num_images" in keys else None
  classes = None
  if {"class_mu", "class_sigma"} <= keys:
    classes = list(zip(np.asarray(stats["class_mu"], np.float64),
                       np.asarray(stats["class_sigma"], np.float64)))
  return {"mu": mu, "sigma": sigma, "network": network, "num_images": num,
          "class_moments": classes}


def check(stats, path, network, dim=None, field="reference_stats"):
  """A one-line UserError when the file's network or feature dimension is not
  the evaluator's; returns `stats`."""
  if stats["network"] is not None and stats["network"] != network:
    raise UserError(f"{field}: {path!r} holds {stats['network']!r} features; this "
                    f"evaluator uses {network!r}: write its own with tools/fid_stats.py")
  if dim is not None and len(stats["mu"]) != dim:
    raise UserError(f"{field}: {path!r} holds {len(stats['mu'])}-d features; this "
                    f"evaluator's {network!r} features are {dim}-d")
  return stats
