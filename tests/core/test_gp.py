"""The GP latent prior: exact covariances, conditional sampling, special modes, determinism."""
from __future__ import annotations

import json

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.model.gp.config import GPPriorConfig, GPPriorError
from csgn_core.model.gp.prior import GPPrior


def single(sigma: float, channels: int = 1) -> GPPrior:
    return GPPrior(GPPriorConfig(channels=channels, mode="single", sigma=sigma))


def empirical_cov(z: np.ndarray) -> np.ndarray:
    """(n, T) zero-mean samples -> (T, T) covariance estimate."""
    return z.T @ z / len(z)


# --- configuration -----------------------------------------------------------------------------


def test_sigmas_per_mode():
    C = 8
    spec = GPPriorConfig(channels=C, sigma_bar=100.0).sigmas()
    np.testing.assert_allclose(spec, np.arange(1, C + 1) / C * 100.0)
    np.testing.assert_array_equal(GPPriorConfig(channels=C, mode="single", sigma=3.0).sigmas(), np.full(C, 3.0))
    rng = GPPriorConfig(channels=C, mode="range", sigma_min=1.0, sigma_max=15.0).sigmas()
    np.testing.assert_allclose(rng, np.linspace(1.0, 15.0, C))
    # The paper's spectrum is the linear range from sigma_bar / C to sigma_bar.
    same = GPPriorConfig(channels=C, mode="range", sigma_min=100.0 / C, sigma_max=100.0).sigmas()
    np.testing.assert_allclose(same, spec)
    assert (GPPriorConfig(channels=C, mode="white").sigmas() == 0).all()
    assert np.isinf(GPPriorConfig(channels=C, mode="constant").sigmas()).all()
    assert GPPriorConfig().sigmas().shape == (1024,)


@pytest.mark.parametrize(
    "cfg",
    [
        GPPriorConfig(),
        GPPriorConfig(channels=16, sigma_bar=16.0, jitter=1e-5),
        GPPriorConfig(channels=4, mode="single", sigma=float("inf")),
        GPPriorConfig(channels=4, mode="range", sigma_min=0.0, sigma_max=50.0),
        GPPriorConfig(channels=3, mode="white"),
        GPPriorConfig(channels=3, mode="constant"),
    ],
)
def test_config_round_trip(cfg):
    d = json.loads(json.dumps(cfg.to_dict(), allow_nan=False))
    back = GPPriorConfig.from_dict({**d, "unknown_future_key": 1})
    assert back == cfg
    np.testing.assert_array_equal(back.sigmas(), cfg.sigmas())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "wiggly"},
        {"channels": 0},
        {"mode": "single"},
        {"mode": "single", "sigma": -1.0},
        {"mode": "range", "sigma_min": 5.0},
        {"mode": "range", "sigma_min": 5.0, "sigma_max": 1.0},
        {"mode": "range", "sigma_min": 0.0, "sigma_max": float("inf")},
        {"jitter": 0.0},
        {"sigma_bar": float("nan")},
        {"channels": "many"},
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(CSGNError):
        GPPriorConfig(**kwargs)


# --- the realised covariance ---------------------------------------------------------------------


@pytest.mark.parametrize("T0", [1, 4, 8, 64, 300])
def test_effective_covariance_is_the_kernel(T0):
    # Sigmas from white-like to far beyond T0, so both the FFT and the low-rank paths are used.
    prior = GPPrior(GPPriorConfig(channels=12, mode="range", sigma_min=0.05, sigma_max=400.0))
    eff = prior.effective_covariance(T0)
    ker = prior.kernel(T0)
    assert eff.shape == ker.shape == (12, T0, T0)
    assert np.abs(eff - ker).max() < 1e-9
    if T0 >= 8:
        assert set(prior.methods(T0)) == {"fft", "lowrank"}


def test_range_from_zero_mixes_white_and_gp_channels():
    prior = GPPrior(GPPriorConfig(channels=5, mode="range", sigma_min=0.0, sigma_max=40.0))
    m = prior.methods(60)  # sigmas 0, 10, 20, 30, 40; low rank above 60 / 4
    assert m[0] == "white" and m[1] == "fft" and m[-1] == "lowrank"
    assert np.abs(prior.effective_covariance(60) - prior.kernel(60)).max() < 1e-9
    known = np.array([2, 9, 41])
    zk = prior.sample(60, 1, rng=0)[0][:, known]
    c = prior.condition(zk, known, 60, n=4, rng=1)
    np.testing.assert_array_equal(c[..., known], np.broadcast_to(zk, (4, 5, 3)))


def test_methods_for_paper_prior():
    prior = GPPrior()
    assert (prior.methods(560) == "fft").all()  # sigma_c <= 100 <= 560 / 4: every channel embeds
    m8 = prior.methods(8)
    assert (m8 == "lowrank").sum() > 1000  # sigma_c >> T0: the window sees a near-polynomial


@pytest.mark.parametrize("sigma, method", [(0.7, "fft"), (3.0, "fft"), (9.0, "fft"), (60.0, "lowrank")])
def test_empirical_covariance_matches_kernel(sigma, method):
    T0, n = 40, 30000
    prior = single(sigma)
    assert prior.methods(T0)[0] == method
    z = prior.sample(T0, n, rng=1)[:, 0]  # (n, T0)
    K = prior.kernel(T0)[0]
    # Standard error of an entry is sqrt((1 + rho^2) / n) <= 0.0082; 0.045 is > 5 of them.
    assert np.abs(empirical_cov(z) - K).max() < 0.045
    assert abs(z.mean()) < 0.05


def test_marginal_variance_paper_prior_long():
    prior = GPPrior()
    z = prior.sample(560, 16, rng=3)  # (16, 1024, 560), a five-minute dance
    assert z.shape == (16, 1024, 560) and np.isfinite(z).all()
    # Slow channels make time averages noisy, so pool over samples and channels.
    assert abs((z**2).mean() - 1.0) < 0.03
    fast = z[:, :100]
    assert abs((fast**2).mean() - 1.0) < 0.02
    # Fast channels decorrelate within a few steps, slow ones hardly move between neighbours.
    lag1 = (z[:, :, 1:] * z[:, :, :-1]).mean(axis=(0, 2)) / (z**2).mean(axis=(0, 2))
    assert abs(lag1[0]) < 0.05 and lag1[-1] > 0.999


def test_any_length():
    prior = GPPrior(GPPriorConfig(channels=32, sigma_bar=100.0))
    for T0 in (1, 2, 3, 4, 7, 8, 64, 2048):
        z = prior.sample(T0, 2, rng=0)
        assert z.shape == (2, 32, T0) and np.isfinite(z).all()
    assert prior.sample(5, 0).shape == (0, 32, 5)


# --- special modes -------------------------------------------------------------------------------


def test_white_mode():
    prior = GPPrior(GPPriorConfig(channels=2, mode="white"))
    z = prior.sample(10, 20000, rng=0)
    np.testing.assert_allclose(empirical_cov(z[:, 0]), np.eye(10), atol=0.05)
    assert (prior.methods(10) == "white").all()
    np.testing.assert_array_equal(prior.kernel(4)[0], np.eye(4))
    # Conditioning: known steps copied, unknown ones still independent N(0, 1).
    zk = np.array([[3.0, -3.0], [1.0, 2.0]])
    c = prior.condition(zk, [2, 7], 10, n=20000, rng=1)
    np.testing.assert_array_equal(c[:, :, [2, 7]], np.broadcast_to(zk, (20000, 2, 2)))
    rest = c[:, 0, [0, 1, 3, 4, 5, 6, 8, 9]]
    assert np.abs(rest.mean(axis=0)).max() < 0.05
    np.testing.assert_allclose(empirical_cov(rest), np.eye(8), atol=0.05)
    mean = prior.conditional_mean(zk, [2, 7], 10)
    assert mean[0, 2] == 3.0 and mean[0, 7] == -3.0 and mean[0, 0] == 0.0


def test_constant_mode():
    prior = GPPrior(GPPriorConfig(channels=3, mode="constant"))
    z = prior.sample(50, 4000, rng=0)
    assert (z == z[..., :1]).all()
    assert abs(z[:, :, 0].var() - 1.0) < 0.06
    np.testing.assert_array_equal(prior.kernel(3)[1], np.ones((3, 3)))
    zk = np.array([[0.5, 0.5], [1.0, 2.0], [-1.0, -1.0]])
    c = prior.condition(zk, [10, 40], 50, n=3, rng=1)
    np.testing.assert_array_equal(c[:, 0], 0.5)
    np.testing.assert_array_equal(c[:, 2], -1.0)
    # Disagreeing known values: unknown steps take their mean, known ones are kept.
    assert c[0, 1, 0] == 1.5 and c[0, 1, 10] == 1.0 and c[0, 1, 40] == 2.0


def test_single_mode_extremes_are_white_and_constant():
    assert (single(0.0).methods(6) == "white").all()
    assert (single(float("inf")).methods(6) == "constant").all()
    z = single(float("inf"), 2).sample(6, 3, rng=2)
    assert (z == z[..., :1]).all()


# --- conditioning --------------------------------------------------------------------------------


SCATTERED = np.sort(np.random.default_rng(0).choice(200, 60, replace=False))


@pytest.mark.parametrize(
    "sigma, T0, known, path",
    [
        (1.5, 30, [0, 5, 6, 17, 29], "dual"),  # FFT channel, K x K solve
        (6.0, 30, [0, 5, 6, 17, 29], "dual"),
        (60.0, 30, [0, 3, 5, 6, 12, 17, 23, 29], "primal"),  # low-rank channel, rank < K
        (2.0, 200, np.r_[0:120, 130:200], "banded"),  # fast channel, most steps known
        (40.0, 200, SCATTERED, "primal"),  # FFT channel with fewer rFFT weights than known steps
        (40.0, 200, np.r_[0:25, 175:200], "primal"),  # the same across a wide gap (variance ~0.33)
    ],
)
def test_conditional_samples_exact(sigma, T0, known, path):
    n = 20000
    prior = single(sigma)
    known = np.asarray(known)
    assert prior.conditioning_paths(known, T0)[0] == path
    zk = prior.sample(T0, 1, rng=3)[0][:, known]
    c = prior.condition(zk, known, T0, n=n, rng=7)[:, 0]  # (n, T0)
    np.testing.assert_array_equal(c[:, known], np.broadcast_to(zk[0], (n, len(known))))
    mean = prior.conditional_mean(zk, known, T0)[0]
    cov = prior.conditional_covariance(known, T0, 0)
    # Matheron's rule against the direct Gaussian formulas, on the unknown steps.
    unknown = np.setdiff1d(np.arange(T0), known)
    resid = (c - mean)[:, unknown]
    cov_u = cov[np.ix_(unknown, unknown)]
    se = np.sqrt(np.maximum(np.diag(cov_u), 1e-12) / n)
    assert (np.abs(resid.mean(axis=0)) <= 5 * se + 1e-9).all()
    # Conditional variances are <= 1, so an entry's standard error is <= sqrt(2 / n) = 0.01.
    assert np.abs(empirical_cov(resid) - cov_u).max() < 0.05
    # And the formulas against the textbook K_UK K_KK^-1 z_K on the kernel itself.
    K = prior.kernel(T0)[0]
    Kkk = K[np.ix_(known, known)] + prior.config.jitter * np.eye(len(known))
    direct = K[:, known] @ np.linalg.solve(Kkk, zk[0])
    np.testing.assert_allclose(mean[unknown], direct[unknown], atol=1e-5)


@pytest.mark.parametrize("T0, k", [(200, 60), (40, 30), (100, 95), (64, 3)])
def test_primal_and_dual_agree_with_textbook_mean(T0, k):
    prior = GPPrior(GPPriorConfig(channels=24, mode="range", sigma_min=0.3, sigma_max=300.0))
    known = np.sort(np.random.default_rng(T0).choice(T0, k, replace=False))
    zk = prior.sample(T0, 1, rng=1)[0][:, known]
    mean = prior.conditional_mean(zk, known, T0)
    eff = prior.effective_covariance(T0)
    Kkk = eff[:, known][:, :, known] + prior.config.jitter * np.eye(k)
    direct = np.einsum("ctk,ck->ct", eff[:, :, known], np.linalg.solve(Kkk, zk[..., None])[..., 0])
    direct[:, known] = zk
    assert np.abs(direct - mean).max() < 1e-6
    if k >= 30:  # several solve forms are exercised
        assert len(set(prior.conditioning_paths(known, T0)) & {"primal", "dual", "banded"}) >= 2


def test_resample_gap_with_most_steps_known():
    # Redrawing a short gap keeps every other step: K is nearly T0, which the primal form keeps cheap.
    prior = GPPrior(GPPriorConfig(channels=256, sigma_bar=100.0))
    T0 = 560
    z = prior.sample(T0, 1, rng=0)[0]
    known = np.r_[0:300, 320:T0]
    c = prior.condition(z[:, known], known, T0, n=2, rng=1)
    np.testing.assert_array_equal(c[:, :, known], np.broadcast_to(z[:, known], (2, 256, len(known))))
    gap = c[:, :, 300:320]
    assert np.isfinite(gap).all()
    # Slow channels are pinned by both sides; the fastest ones are redrawn.
    assert np.abs(gap[:, -64:] - z[-64:, 300:320]).max() < 1e-3
    assert np.abs(gap[0, :8] - gap[1, :8]).max() > 0.5


def test_conditional_mean_recovers_smooth_channels():
    prior = GPPrior(GPPriorConfig(channels=64, sigma_bar=100.0))
    T0 = 200
    truth = prior.sample(T0, 1, rng=11)[0]
    known = np.arange(0, T0, 10)
    mean = prior.conditional_mean(truth[:, known], known, T0)
    err = np.abs(mean - truth).mean(axis=1)
    assert err[-16:].max() < 1e-3  # sigma >= 75 steps: 20 known steps pin the channel down
    assert err[:4].min() > 0.1  # sigma <= 6 steps: the gaps are genuinely unknown


def test_condition_paper_prior_shapes_and_per_sample_known():
    prior = GPPrior(GPPriorConfig(channels=128, sigma_bar=100.0))
    T0 = 560
    known = np.sort(np.random.default_rng(0).choice(T0, 100, replace=False))
    zk = prior.sample(T0, 3, rng=1)[..., known]  # (3, C, 100): one set per sample
    c = prior.condition(zk, known, T0, rng=2)
    assert c.shape == (3, 128, T0) and np.isfinite(c).all()
    np.testing.assert_array_equal(c[..., known], zk)
    # Known steps may come in any order.
    perm = np.random.default_rng(3).permutation(100)
    c2 = prior.condition(zk[..., perm], known[perm], T0, rng=2)
    np.testing.assert_array_equal(c, c2)


def test_condition_with_nothing_known_is_a_prior_sample():
    prior = GPPrior(GPPriorConfig(channels=8))
    a = prior.condition(np.zeros((8, 0)), np.zeros(0, dtype=int), 20, n=2, rng=4)
    np.testing.assert_array_equal(a, prior.sample(20, 2, rng=4))


@pytest.mark.parametrize(
    "zk, idx",
    [
        (np.zeros((8, 2)), [1, 1]),
        (np.zeros((8, 2)), [0, 20]),
        (np.zeros((8, 2)), [-1, 3]),
        (np.zeros((7, 2)), [0, 3]),
        (np.zeros((8, 3)), [0, 3]),
        (np.full((8, 2), np.nan), [0, 3]),
        (np.zeros((8, 2)), [0.5, 3]),
    ],
)
def test_condition_rejects_bad_input(zk, idx):
    prior = GPPrior(GPPriorConfig(channels=8))
    with pytest.raises(GPPriorError):
        prior.condition(zk, idx, 20)


def test_bad_lengths_rejected():
    prior = GPPrior(GPPriorConfig(channels=4))
    for T0 in (0, -3, 2.5, "x"):
        with pytest.raises(GPPriorError):
            prior.sample(T0)
    with pytest.raises(GPPriorError):
        prior.sample(5, n=-1)


# --- determinism and torch -----------------------------------------------------------------------


def test_same_seed_same_bits():
    prior = GPPrior(GPPriorConfig(channels=64, sigma_bar=100.0))
    for T0 in (8, 300):
        a = prior.sample(T0, 3, rng=123)
        b = GPPrior(GPPriorConfig(channels=64, sigma_bar=100.0)).sample(T0, 3, rng=123)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, prior.sample(T0, 3, rng=124))
    known = np.array([3, 4, 100])
    zk = np.ones((64, 3))
    assert np.array_equal(prior.condition(zk, known, 300, 2, rng=5), prior.condition(zk, known, 300, 2, rng=5))
    gen = np.random.default_rng(9)
    first, second = prior.sample(50, 1, gen), prior.sample(50, 1, gen)
    assert not np.array_equal(first, second)  # a Generator is advanced, not reused


def test_sample_torch():
    torch = pytest.importorskip("torch")
    prior = GPPrior(GPPriorConfig(channels=16, sigma_bar=10.0))
    t = prior.sample_torch(24, 2, seed=5)
    assert isinstance(t, torch.Tensor) and t.shape == (2, 16, 24) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), prior.sample(24, 2, rng=5).astype(np.float32))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = prior.sample_torch(24, 1, generator=g1, dtype=torch.float64)
    b = prior.sample_torch(24, 1, generator=g2, dtype=torch.float64)
    assert a.dtype == torch.float64 and torch.equal(a, b)
    assert not torch.equal(a, prior.sample_torch(24, 1, generator=g1, dtype=torch.float64))
