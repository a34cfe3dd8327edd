import numpy as np
import pytest

from csgn_core.motion import quaternion as Q

ORDERS = ["ZXY", "XYZ", "ZYX", "YXZ", "XZY", "YZX"]


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip(order):
    rng = np.random.default_rng(1)
    a = rng.uniform(-179, 179, (500, 3))
    a[:, 1] = rng.uniform(-89, 89, 500)
    q = Q.from_euler(a, order)
    np.testing.assert_allclose(Q.to_euler(q, order), a, atol=1e-8)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_gimbal_lock_gives_same_rotation(order):
    q = Q.from_euler(np.array([[30.0, 90.0, 20.0], [-40.0, -90.0, 10.0]]), order)
    q2 = Q.from_euler(Q.to_euler(q, order), order)
    np.testing.assert_allclose(np.abs(np.sum(q * q2, -1)), 1.0, atol=1e-9)


def test_euler_matches_matrix_product():
    a = np.array([10.0, 20.0, 30.0])
    m = Q.to_matrix(Q.from_euler(a, "ZXY"))
    rz, rx, ry = (Q.to_matrix(Q.from_axis_angle(ax, np.radians(v))) for ax, v in
                  ((np.array([0, 0, 1.0]), a[0]), (np.array([1.0, 0, 0]), a[1]), (np.array([0, 1.0, 0]), a[2])))
    np.testing.assert_allclose(m, rz @ rx @ ry, atol=1e-12)


def test_matrix_round_trip_and_rotate():
    rng = np.random.default_rng(2)
    q = Q.normalize(rng.normal(size=(1000, 4)))
    q2 = Q.from_matrix(Q.to_matrix(q))
    np.testing.assert_allclose(np.abs(np.sum(q * q2, -1)), 1.0, atol=1e-12)
    v = rng.normal(size=(1000, 3))
    np.testing.assert_allclose(Q.rotate(q, v), np.einsum("nij,nj->ni", Q.to_matrix(q), v), atol=1e-12)


def test_between_and_opposite():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    r = Q.rotate(Q.between(a, b), a)
    np.testing.assert_allclose(r / np.linalg.norm(r, axis=-1, keepdims=True),
                               b / np.linalg.norm(b, axis=-1, keepdims=True), atol=1e-10)
    x = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(Q.rotate(Q.between(x, -x), x), -x, atol=1e-12)


def test_slerp_endpoints_and_continuity():
    rng = np.random.default_rng(4)
    a, b = Q.normalize(rng.normal(size=(10, 4))), Q.normalize(rng.normal(size=(10, 4)))
    np.testing.assert_allclose(np.abs(np.sum(Q.slerp(a, b, 0.0) * a, -1)), 1, atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(Q.slerp(a, b, 1.0) * b, -1)), 1, atol=1e-12)
    seq = Q.normalize(rng.normal(size=(50, 4)) * 0.01 + np.array([1, 0, 0, 0]))
    seq[::3] *= -1
    cont = Q.make_continuous(seq)
    assert np.all(np.sum(cont[1:] * cont[:-1], -1) > 0)
    np.testing.assert_allclose(np.abs(np.sum(cont * seq, -1)), 1, atol=1e-12)


def test_fit_rotations_recovers_a_rotation_and_falls_back_on_collinear_directions():
    rng = np.random.default_rng(4)
    q = Q.normalize(rng.normal(size=(7, 4)))
    a = rng.normal(size=(3, 3))
    b = Q.rotate(q[:, None], np.broadcast_to(a, (7, 3, 3))) * 2.5  # lengths do not matter
    got = Q.fit_rotations(a, b)
    np.testing.assert_allclose(Q.rotate(got[:, None], np.broadcast_to(a, (7, 3, 3))), b / 2.5, atol=1e-9)
    # Per-frame source directions and weights: the heavier direction wins a conflict.
    src = np.broadcast_to(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (7, 2, 3))
    dst = np.broadcast_to(np.array([[0, 0, 1.0], [1.0, 0, 0]]), (7, 2, 3)).copy()
    dst[:, 1] = [0, 0.2, 1.0]  # cannot both be met
    heavy_first = Q.fit_rotations(src, dst, np.array([100.0, 1.0]))
    assert Q.angle(Q.between(Q.rotate(heavy_first, src[:, 0]), dst[:, 0])).max() < 0.02
    # Collinear directions leave the turn about them open: the heaviest one's shortest arc.
    line = np.array([[0, 1.0, 0], [0, 2.0, 0]])
    got = Q.fit_rotations(line, np.broadcast_to([[1.0, 0, 0], [3.0, 0, 0]], (2, 2, 3)))
    np.testing.assert_allclose(got, Q.between(np.array([[0, 1.0, 0]] * 2), np.array([[1.0, 0, 0]] * 2)), atol=1e-9)


def test_from_matrix_picks_each_branch_and_matches_the_candidate_formula():
    rng = np.random.default_rng(4)
    q = Q.normalize(rng.normal(size=(400, 4)))
    m = Q.to_matrix(q)
    # Half-turns about x, y and z and the identity: the x, y, z and w branches at their limits.
    m[:4] = [np.eye(3), np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])]
    got = Q.from_matrix(m)
    assert np.all(got[:, 0] >= 0)
    np.testing.assert_allclose(Q.to_matrix(got), m, atol=1e-12)
    np.testing.assert_allclose(got[:4], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], atol=1e-12)
