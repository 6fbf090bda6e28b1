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
  # Naeem et al.'s strict `<` (prdc): each real ball holds itself and k - 1
  # others, so a set against itself has density exactly 1 (`<=` gave 1 + 1/k).
  assert stats.density_coverage(x, x) == (1.0, 1.0)
  assert stats.density_coverage(x, x, k=3) == (1.0, 1.0)
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
  inside = d < rx[None, :]
  return precision, recall, inside.sum() / (5 * len(y)), inside.any(axis=0).mean()


def test_random_features_match_an_independent_computation():
  rng = np.random.default_rng(4)
  x = rng.standard_normal((120, 10)) @ rng.standard_normal((10, 10))
  y = rng.standard_normal((100, 10)) @ rng.standard_normal((10, 10)) + 0.3
  assert stats.frechet_distance(x, y) == pytest.approx(_pytorch_fid(x, y), rel=1e-4, abs=1e-4)
  # One subset holding every row (of equal sets): the subset mean is the full-set MMD^2.
  kid, _ = stats.kernel_inception_distance(x[:100], y, num_subsets=1, subset_size=1000)
  assert kid == pytest.approx(_kid_loops(x[:100], y), rel=1e-4, abs=1e-4)
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


# --- conventions on the metrics' authors' side ---------------------------------------

def _prdc_density_coverage(real, fake, k):
  """density and coverage transcribed from the authors' package
  (clovaai/generative-evaluation-prdc, prdc/prdc.py `compute_prdc`, commit
  82db9ac), with scipy's cdist for sklearn's pairwise_distances."""
  radii = np.sort(cdist(real, real), axis=1)[:, k]  # get_kth_value(k + 1): self included
  distance_real_fake = cdist(real, fake)
  density = (1.0 / k) * (distance_real_fake < radii[:, None]).sum(axis=0).mean()
  coverage = (distance_real_fake.min(axis=1) < radii).mean()
  return density, coverage


def test_tied_lattice_gives_the_prdc_values():
  # Real = fake = the 5x5 integer grid, k = 3. The 3rd-NN radius is 1 for the 21
  # non-corner points (>= 3 neighbours at distance 1) and sqrt 2 at the 4 corners.
  # Strictly inside: a non-corner ball holds only its centre, a corner ball its
  # centre and 2 neighbours: density = (21 * 1 + 4 * 3) / (3 * 25) = 0.44.
  # (`<=` would count 109 / 75 = 1.453: the tie case these metrics must catch.)
  grid = np.array([(i, j) for i in range(5) for j in range(5)], np.float64)
  assert stats.density_coverage(grid, grid, k=3) == pytest.approx((0.44, 1.0), abs=1e-12)
  assert stats.precision_recall(grid, grid, k=3) == (1.0, 1.0)  # NVlabs' `<=`
  # A copying generator with repeats and a few off-lattice points, against the package.
  rng = np.random.default_rng(6)
  fake = np.concatenate([grid[rng.integers(25, size=40)], grid[:6] + 0.5])
  for k in (2, 3, 5):
    ours = stats.density_coverage(grid, fake, k=k)
    assert ours == pytest.approx(_prdc_density_coverage(grid, fake, k), abs=1e-12)
  assert ours != pytest.approx(stats.density_coverage(grid, fake + 1e-9, k=5), abs=1e-3)


def _improved_gan_score(probs, splits):
  """Salimans et al.'s split loop (openai/improved-gan, inception_score/model.py)."""
  scores = []
  for i in range(splits):
    part = probs[(i * probs.shape[0] // splits):((i + 1) * probs.shape[0] // splits), :]
    kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
    scores.append(np.exp(np.mean(np.sum(kl, 1))))
  return np.mean(scores), np.std(scores)


def test_inception_score_splits_at_i_n_over_splits():
  assert stats.split_bounds(1005, 10)[:3] == [(0, 100), (100, 201), (201, 301)]
  assert stats.split_bounds(1005, 10)[-1] == (904, 1005)
  # Rows 0-99 confidently class 0, the rest class 1: every i*N//10 chunk is pure,
  # so IS = (1, 0). np.array_split's first chunk (rows 0-100) would mix the classes.
  confident = np.full((1005, 2), -50.0)
  confident[:100, 0] = confident[100:, 1] = 50.0
  assert stats.inception_score(confident, splits=10) == pytest.approx((1.0, 0.0), abs=1e-9)
  logits = np.random.default_rng(7).standard_normal((1005, 10)) * 3
  probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  assert stats.inception_score(logits, 10) == pytest.approx(_improved_gan_score(probs, 10),
                                                            rel=1e-10)
  with pytest.raises(ValueError, match="splits=11"):
    stats.inception_score(logits[:10], 11)


def test_kid_with_a_small_set_uses_clean_fids_subset_size():
  rng = np.random.default_rng(8)
  x, y = rng.standard_normal((60, 4)), rng.standard_normal((90, 4)) + 0.2
  assert stats.kid_subset_size(60, 90, 1000) == 60 and stats.kid_subset_size(2000, 1500, 1000) == 1000
  # Equal sets smaller than the subset: every subset is both whole sets, std 0.
  kid, kid_std = stats.kernel_inception_distance(x, y[:60], num_subsets=4, subset_size=1000)
  assert kid == pytest.approx(_kid_loops(x, y[:60]), rel=1e-9) and kid_std < 1e-12
  # Unequal: 60 rows of each set per subset (clean-fid), so the subsets differ.
  _, kid_std = stats.kernel_inception_distance(x, y, num_subsets=4, subset_size=1000)
  assert kid_std > 0
