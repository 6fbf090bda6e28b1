"""Golden tests of tfgan1/stats.py: closed forms, limiting cases, and an independent
second computation (pytorch-fid's FD math, explicit loops) on fixed random features."""
import numpy as np
import pytest
from scipy import linalg
from scipy.spatial.distance import cdist

from tfgan1.evaluation import stats


def _rotation(d, seed):
  q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
  return q


def test_fd_of_two_gaussians_matches_the_closed_form():
  # Covariances sharing eigenvectors commute, so Tr((S1 S2)^1/2) = sum sqrt(a_i b_i)
  # and FD = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
  d = 6
  rot = _rotation(d, 0)
  a, b = np.linspace(0.5, 3.0, d), np.linspace(2.0, 0.1, d)
  mu1, mu2 = np.arange(d, dtype=float), np.arange(d, dtype=float)[::-1] * 0.5
  s1, s2 = rot @ np.diag(a) @ rot.T, rot @ np.diag(b) @ rot.T
  closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
  assert stats.frechet_distance_from_moments(mu1, s1, mu2, s2) == pytest.approx(closed, rel=1e-10)
  # From samples of those Gaussians, the estimate converges to the same value.
  rng = np.random.default_rng(1)
  x = rng.multivariate_normal(mu1, s1, 200_000)
  y = rng.multivariate_normal(mu2, s2, 200_000)
  assert stats.frechet_distance(x, y) == pytest.approx(closed, rel=0.01)


def test_identical_sets():
  x = np.random.default_rng(0).standard_normal((400, 16))
  assert abs(stats.frechet_distance(x, x)) < 1e-9
  assert stats.precision_recall(x, x) == (1.0, 1.0)
  density, coverage = stats.density_coverage(x, x)
  assert coverage == 1.0 and density >= 1.0
  # KID of a set against itself is not exactly 0: the unbiased MMD^2 counts the
  # pairs (x_i, x_i) of the cross term as if independent. With K the kernel
  # matrix it is 2 S_off / (m (m-1)) - 2 sum(K) / m^2, a bias of order
  # -2 mean(diag K) / m that vanishes as m grows; independent samples of one
  # distribution give ~0 (next test).
  m = len(x)
  k = (x @ x.T / 16 + 1) ** 3
  off = k.sum() - np.trace(k)
  exact = 2 * off / (m * (m - 1)) - 2 * k.sum() / m ** 2
  kid, kid_std = stats.kernel_inception_distance(x, x, num_subsets=3, subset_size=m)
  assert kid == pytest.approx(exact, rel=1e-9) and kid_std < 1e-12
  assert -2 * np.trace(k) / m ** 2 < kid < 0


def test_samples_of_one_distribution_give_kid_near_zero():
  rng = np.random.default_rng(2)
  x, y = rng.standard_normal((1000, 8)), rng.standard_normal((1000, 8))
  kid, kid_std = stats.kernel_inception_distance(x, y, num_subsets=10, subset_size=250)
  far, _ = stats.kernel_inception_distance(x, y + 0.5, num_subsets=10, subset_size=250)
  assert abs(kid) < 3 * kid_std + 1e-3 and far > 50 * abs(kid)


def test_disjoint_sets_have_zero_recall_and_precision():
  rng = np.random.default_rng(3)
  x = rng.standard_normal((200, 4))
  y = rng.standard_normal((200, 4)) + 100.0
  assert stats.precision_recall(x, y) == (0.0, 0.0)
  assert stats.density_coverage(x, y) == (0.0, 0.0)


def _pytorch_fid(x, y):
  """pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of S1 S2)."""
  mu1, mu2 = x.mean(0), y.mean(0)
  s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  covmean = linalg.sqrtm(s1.dot(s2))
  covmean = covmean.real
  diff = mu1 - mu2
  return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _kid_loops(x, y):
  """Unbiased MMD^2, cubic kernel, written pair by pair."""
  d, m, n = x.shape[1], len(x), len(y)
  kern = lambda a, b: (np.dot(a, b) / d + 1) ** 3
  xx = sum(kern(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  yy = sum(kern(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
  xy = sum(kern(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
  return xx + yy - 2 * xy


def _pr_cdist(x, y, k):
  rx = np.sort(cdist(x, x), axis=1)[:, k]
  ry = np.sort(cdist(y, y), axis=1)[:, k]
  d = cdist(y, x)
  precision = np.mean([any(d[j, i] <= rx[i] for i in range(len(x))) for j in range(len(y))])
  recall = np.mean([any(d[j, i] <= ry[j] for j in range(len(y))) for i in range(len(x))])
  inside = d <= rx[None, :]
  return precision, recall, inside.sum() / (5 * len(y)), inside.any(axis=0).mean()


def test_random_features_match_an_independent_computation():
  rng = np.random.default_rng(4)
  x = rng.standard_normal((120, 10)) @ rng.standard_normal((10, 10))
  y = rng.standard_normal((100, 10)) @ rng.standard_normal((10, 10)) + 0.3
  assert stats.frechet_distance(x, y) == pytest.approx(_pytorch_fid(x, y), rel=1e-4, abs=1e-4)
  # One subset holding every row: the subset mean is the full-set MMD^2.
  kid, _ = stats.kernel_inception_distance(x, y, num_subsets=1, subset_size=1000)
  assert kid == pytest.approx(_kid_loops(x, y), rel=1e-4, abs=1e-4)
  precision, recall, _, _ = _pr_cdist(x, y, 3)
  assert stats.precision_recall(x, y, k=3) == pytest.approx((precision, recall), abs=1e-4)
  assert 0.0 < precision < 1.0 and 0.0 < recall < 1.0  # a case that discriminates
  _, _, density, coverage = _pr_cdist(x, y, 5)
  assert stats.density_coverage(x, y, k=5) == pytest.approx((density, coverage), abs=1e-4)


def test_inception_score_limits():
  # Confident, uniformly spread predictions: IS = number of classes; one class: 1.
  confident = np.full((1000, 10), -50.0)
  confident[np.arange(1000), np.arange(1000) % 10] = 50.0
  assert stats.inception_score(confident, splits=10)[0] == pytest.approx(10.0, rel=1e-6)
  collapsed = np.zeros((1000, 10))
  collapsed[:, 3] = 50.0
  assert stats.inception_score(collapsed, splits=5) == pytest.approx((1.0, 0.0), abs=1e-6)
  # Against the definition, exp(E KL(p(y|x) || p(y))), on random logits.
  logits = np.random.default_rng(5).standard_normal((300, 7)) * 2
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  expected = np.exp(np.mean(np.sum(p * (np.log(p) - np.log(p.mean(0))), axis=1)))
  assert stats.inception_score(logits, splits=1)[0] == pytest.approx(expected, rel=1e-9)


def test_bad_shapes_are_rejected():
  with pytest.raises(ValueError, match="feature matrix"):
    stats.frechet_distance(np.zeros(5), np.zeros((5, 2)))
  with pytest.raises(ValueError, match="k=3"):
    stats.precision_recall(np.zeros((3, 2)), np.zeros((9, 2)))
