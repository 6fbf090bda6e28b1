"""`modes`: the mixture-of-Gaussians measures of the toy datasets (ring8, grid25).

VEEGAN's measures (Srivastava et al. 2017) as used by PacGAN (Lin et al. 2018,
arXiv:1712.04086, section 5.1):
- a sample is *high quality* when it lies within 3 standard deviations of its
  nearest mode centre;
- a mode is *captured* when at least one high-quality sample has it as nearest
  mode;
- *reverse KL* is KL(P_gen || uniform) over the modes, P_gen being the histogram
  of every sample's nearest mode (so 0 for perfect balance, log K for one mode).
"""
import numpy as np

from tfgan1 import EVALUATORS, UserError


def mode_metrics(samples, centers, std):
  """Toy metrics for samples [N, D] against mode centres [K, D] of equal std."""
  samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
  centers = np.asarray(centers, np.float64)
  dists = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
  nearest = dists.argmin(axis=1)
  high_quality = dists[np.arange(len(samples)), nearest] <= 3.0 * std
  num_modes = len(centers)
  captured = np.unique(nearest[high_quality]).size
  p_gen = np.bincount(nearest, minlength=num_modes) / max(len(samples), 1)
  nonzero = p_gen > 0
  reverse_kl = float(np.sum(p_gen[nonzero] * np.log(p_gen[nonzero] * num_modes)))
  return {"modes": int(captured), "high_quality": float(high_quality.mean()),
          "reverse_kl": reverse_kl}


@EVALUATORS.register("modes")
class Modes:
  """Modes captured, high-quality share and reverse KL; needs the data's modes
  (`centers` [K, D] and their common `std`, as ring8 and grid25 have)."""

  def __init__(self, data):
    self.centers = getattr(data, "centers", None)
    self.std = getattr(data, "std", None)
    if self.centers is None or self.std is None:
      raise UserError(f"eval.metrics: 'modes' needs a Gaussian-mixture dataset with "
                      f"mode centres (ring8, grid25); {type(data).__name__} has no "
                      "'centers' and 'std'")

  def evaluate(self, samples):
    return mode_metrics(samples, self.centers, self.std)
