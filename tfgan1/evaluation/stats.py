"""Sample-quality statistics over feature matrices, written once for every evaluator.

Each function takes NumPy feature matrices [N, D] (real first, generated second)
and returns plain floats, so any feature extractor (an Inception net, a small
MNIST classifier, raw 2-D points) shares the same maths:

- `frechet_distance`: Heusel et al. 2017 (FID when the features are Inception's).
- `kernel_inception_distance`: Binkowski et al. 2018, the unbiased MMD^2 with the
  cubic kernel k(x, y) = (x.y / d + 1)^3, mean and std over random subsets.
- `precision_recall`: Kynkaanniemi et al. 2019, k-NN manifolds (k = 3).
- `density_coverage`: Naeem et al. 2020 (k = 5).
- `inception_score`: Salimans et al. 2016, on classifier logits.

Where the authors' reference code fixes a convention the papers leave open
(a point exactly on a k-NN radius, uneven splits, a set smaller than a KID
subset), each function follows that code and names it; docs/guide/evaluation.md
lists them all.
"""
import numpy as np
from scipy import special


__all__ = ["density_coverage", "frechet_distance", "frechet_distance_from_moments", "inception_score", "intra_class_frechet_distance", "kernel_inception_distance", "kid_subset_size", "knn_radii", "mean_cov", "pairwise_distances", "precision_recall", "split_bounds"]

def _matrix(x, name):
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or len(x) < 2:
    raise ValueError(f"{name}: expected a feature matrix [N >= 2, D], got shape {x.shape}")
  return x


def mean_cov(features):
  """(mean [D], covariance [D, D]) of features [N, D], the FD summary of one set."""
  x = _matrix(features, "features")
  return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2):
  """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).

  Tr((S1 S2)^1/2) is taken as the sum of square roots of the eigenvalues of the
  symmetric PSD matrix S1^1/2 S2 S1^1/2, so no non-symmetric `sqrtm` (and none
  of its spurious imaginary parts) is needed.
  """
  mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
  sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
  vals, vecs = np.linalg.eigh(sigma1)
  root1 = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
  inner = root1 @ sigma2 @ root1
  trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root)


def frechet_distance(real, fake):
  """Frechet distance between Gaussians fitted to two feature sets."""
  return frechet_distance_from_moments(*mean_cov(real), *mean_cov(fake))


def intra_class_frechet_distance(class_moments, features, labels):
  """(mean, {k: FD_k}): the Frechet distance of each class's samples to that
  class's reference (mu_k, sigma_k) = class_moments[k], averaged over the
  classes in `labels` with at least 2 samples. This is the "intra-FID" of
  Miyato & Koyama 2018 (cGANs with projection discriminator), on whatever
  features are given."""
  x, labels = _matrix(features, "features"), np.asarray(labels).reshape(-1)
  if len(labels) != len(x):
    raise ValueError(f"{len(x)} feature rows but {len(labels)} labels")
  per_class = {int(k): frechet_distance_from_moments(*class_moments[k], *mean_cov(x[labels == k]))
               for k in np.unique(labels) if (labels == k).sum() >= 2}
  if not per_class:
    raise ValueError("intra-class FD needs a class with at least 2 samples")
  return float(np.mean(list(per_class.values()))), per_class


def _mmd2_unbiased(x, y):
  d = x.shape[1]
  k_xx = (x @ x.T / d + 1.0) ** 3
  k_yy = (y @ y.T / d + 1.0) ** 3
  k_xy = (x @ y.T / d + 1.0) ** 3
  m, n = len(x), len(y)
  return ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
          + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
          - 2.0 * k_xy.mean())


def kid_subset_size(num_real, num_fake, subset_size):
  """The rows per KID subset: min(N_real, N_fake, subset_size), clean-fid's rule
  (GaParmar/clean-fid, cleanfid/fid.py `kernel_distance`), so a set smaller than
  `subset_size` shrinks the subsets of both sets alike instead of being refused."""
  return min(int(num_real), int(num_fake), int(subset_size))


def kernel_inception_distance(real, fake, num_subsets=100, subset_size=1000, seed=0):
  """(mean, std) of the unbiased cubic-kernel MMD^2 over random subsets.

  Each subset draws `kid_subset_size(...)` rows of each set without
  replacement. When that is the whole of both sets every subset is the same
  and the std is 0: the evaluators say so in one line when it happens.
  """
  x, y = _matrix(real, "real"), _matrix(fake, "fake")
  m = kid_subset_size(len(x), len(y), subset_size)
  rng = np.random.default_rng(seed)
  values = [_mmd2_unbiased(x[rng.choice(len(x), m, replace=False)],
                           y[rng.choice(len(y), m, replace=False)])
            for _ in range(num_subsets)]
  return float(np.mean(values)), float(np.std(values))


def pairwise_distances(a, b, chunk=2048):
  """Euclidean distances [len(a), len(b)], in row chunks to bound memory."""
  b_sq = (b * b).sum(axis=1)
  out = np.empty((len(a), len(b)))
  for i in range(0, len(a), chunk):
    part = a[i:i + chunk]
    sq = (part * part).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * part @ b.T
    out[i:i + chunk] = np.sqrt(np.clip(sq, 0.0, None))
  return out


def knn_radii(x, k):
  """Distance from each row of x to its k-th nearest other row."""
  if len(x) <= k:
    raise ValueError(f"k-NN with k={k} needs more than {k} samples, got {len(x)}")
  dists = pairwise_distances(x, x)
  return np.partition(dists, k, axis=1)[:, k]  # column 0 is the point itself


def precision_recall(real, fake, k=3):
  """(precision, recall): the share of fake samples inside the real k-NN manifold,
  and of real samples inside the fake one.

  A point exactly on a k-NN radius counts as inside (`<=`), as NVlabs' code
  does (NVlabs/stylegan2-ada-pytorch, metrics/precision_recall.py:
  `(dist <= kth).any(dim=1)`).
  """
  x, y = _matrix(real, "real"), _matrix(fake, "fake")
  real_radii, fake_radii = knn_radii(x, k), knn_radii(y, k)
  d = pairwise_distances(y, x)  # [fake, real]
  precision = (d <= real_radii[None, :]).any(axis=1).mean()
  recall = (d.T <= fake_radii[None, :]).any(axis=1).mean()
  return float(precision), float(recall)


def density_coverage(real, fake, k=5):
  """(density, coverage) of Naeem et al.: balls only around the real samples.

  density = 1/(k M) sum_j sum_i [d(y_j, x_i) < r_i], coverage = 1/N sum_i
  [min_j d(y_j, x_i) < r_i], r_i the distance from x_i to its k-th nearest
  other real sample. A point exactly on a radius is outside (strict `<`), as
  the authors' package computes it (clovaai/generative-evaluation-prdc,
  prdc/prdc.py, `compute_prdc`), so a set against itself gives 1.0 and 1.0.
  """
  x, y = _matrix(real, "real"), _matrix(fake, "fake")
  radii = knn_radii(x, k)
  inside = pairwise_distances(y, x) < radii[None, :]  # [fake, real]
  density = inside.sum() / (k * len(y))
  coverage = inside.any(axis=0).mean()
  return float(density), float(coverage)


def split_bounds(num, splits):
  """[(start, end)] of `splits` consecutive chunks cut at i * num // splits, as
  Salimans et al.'s code (openai/improved-gan, inception_score/model.py) and
  torch-fidelity cut them: uneven chunks alternate rather than lead."""
  cuts = [i * num // splits for i in range(splits + 1)]
  return list(zip(cuts[:-1], cuts[1:]))


def inception_score(logits, splits=10):
  """(mean, std) over `splits` of exp(E_x KL(p(y|x) || p(y))), from logits [N, C]."""
  log_p = special.log_softmax(np.asarray(logits, np.float64), axis=1)
  if not 1 <= splits <= len(log_p):
    raise ValueError(f"inception_score: splits={splits} needs 1 <= splits <= N = {len(log_p)}")
  scores = []
  for part in (log_p[a:b] for a, b in split_bounds(len(log_p), splits)):
    log_marginal = special.logsumexp(part, axis=0) - np.log(len(part))
    kl = (np.exp(part) * (part - log_marginal[None, :])).sum(axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
