"""`modes`: the mixture-of-Gaussians measures of the toy datasets (ring8, grid25).

VEEGAN's measures (Srivastava et al. 2017) as used by PacGAN (Lin et al. 2018,
arXiv:1712.04086, section 5.1):
- a sample is *high quality* when it lies strictly within 3 standard
  deviations of its nearest mode centre (`<`, as PacGAN's code);
- a mode is *captured* when at least one high-quality sample has it as nearest
  mode;
- `reverse_kl` is KL(P_gen || uniform) over the modes, P_gen being the histogram
  of *every* sample's nearest mode (so 0 for perfect balance, log K for one mode);
- `reverse_kl_pacgan` is PacGAN's: the same KL, but P_gen is the histogram of
  the *high-quality* samples only. PacGAN's synthetic-data code
  (fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/pacgan/extensions.py,
  `MetricLogger.do`, commit b331f4f) counts `detail_of_coverage` over samples
  with `min_dis < 3` and reports its entropy H; KL(P || uniform) = log K - H.
  The two agree near the optimum and part for degraded generators (low-quality
  samples spread over modes they do not reach); with no high-quality sample it
  is undefined and reported as NaN.
"""
import numpy as np

from tfgan1 import EVALUATORS, UserError


def mode_metrics(samples, centers, std):
  """Toy metrics for samples [N, D] against mode centres [K, D] of equal std."""
  samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
  centers = np.asarray(centers, np.float64)
  dists = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
  nearest = dists.argmin(axis=1)
  high_quality = dists[np.arange(len(samples)), nearest] < 3.0 * std
  num_modes = len(centers)
  captured = np.unique(nearest[high_quality]).size
  return {"modes": int(captured), "high_quality": float(high_quality.mean()),
          "reverse_kl": kl_to_uniform(np.bincount(nearest, minlength=num_modes)),
          "reverse_kl_pacgan": kl_to_uniform(
              np.bincount(nearest[high_quality], minlength=num_modes))}


def kl_to_uniform(counts):
  """KL(p || uniform) of the histogram `counts` over K bins (0 * log 0 = 0);
  NaN for an empty histogram."""
  counts = np.asarray(counts, np.float64)
  if counts.sum() == 0:
    return float("nan")
  p = counts / counts.sum()
  nonzero = p > 0
  return float(np.sum(p[nonzero] * np.log(p[nonzero] * len(p))))


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
