"""The training terms that make H invert G and train the completion path (train/completion.py)."""
import numpy as np
import pytest
import torch

from csgn_core.errors import CSGNError
from csgn_core.model.features import FeatureCodec
from csgn_core.model.gp.config import GPPriorConfig
from csgn_core.model.gp.prior import GPPrior
from csgn_core.model.train.completion import CompletionLayout, GPConditioner, draw_layout, latent_moment_loss
from csgn_core.model.train.windows import mirror_features

from .helpers import dataset_of, random_motion, toy_skeleton, toy_trainer
from .test_trainer import state

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_moment_loss_is_small_on_prior_draws_and_large_on_collapsed_latents():
    prior = GPPrior(GPPriorConfig(channels=16, sigma_bar=8.0))
    rows = torch.from_numpy(prior.kernel_rows(8)).float()
    z = torch.from_numpy(prior.sample(8, 512, np.random.default_rng(0))).float()
    assert latent_moment_loss(z, rows) < 0.01
    assert latent_moment_loss(0.1 * z, rows) > 0.2  # the bundled H's spread
    assert latent_moment_loss(z + 1.0, rows) > 0.9  # a mean off zero


def test_conditioner_matches_the_gp_and_keeps_known_steps():
    prior = GPPrior(GPPriorConfig(channels=12, sigma_bar=8.0))
    T0, known = 16, np.r_[0:3, 10:16]
    cond = GPConditioner(prior, T0, known)
    zk = torch.from_numpy(prior.sample(T0, 2, np.random.default_rng(1))[..., known]).float()
    mean = cond(zk)
    ref = prior.conditional_mean(zk.double().numpy(), known, T0)
    assert np.allclose(mean.numpy(), ref, atol=2e-3)
    draw = cond(zk, torch.randn(2, 12, T0))
    assert torch.equal(draw[..., known], zk)  # pins stay exactly
    # The spread of many draws at a gap step is the conditional variance.
    many = cond(zk[:1].expand(4000, -1, -1), torch.randn(4000, 12, T0))
    var = prior.conditional_covariance(known, T0, channel=11)
    assert abs(float(many[:, 11, 6].var()) - var[6, 6]) < 0.1 * var[6, 6] + 1e-3


def test_pin_noise_keeps_rough_pin_latents_from_overshooting_the_gap():
    """H's latents of real pins are rougher than the prior's draws; conditioned on as exact, the
    bundled model's prior (96 channels, sigma_bar 16) swings far out between two pins (session 17)."""
    T0, known = 33, np.r_[4:9, 24:29]
    zk = 0.7 * np.random.default_rng(0).standard_normal((1, 96, len(known)))  # rough, like H's
    swing = {}
    for noise in (1e-6, 0.2):
        prior = GPPrior(GPPriorConfig(channels=96, sigma_bar=16.0, jitter=noise))
        swing[noise] = np.abs(prior.conditional_mean(zk, known, T0)[..., 13:20]).mean()
        draw = GPConditioner(prior, T0, known)(torch.from_numpy(zk).float(), torch.randn(1, 96, T0))
        assert torch.equal(draw[..., known], torch.from_numpy(zk).float())  # pins exact at any noise
        assert np.array_equal(prior.condition(zk, known, T0, 1, 0)[..., known], zk)
    assert swing[1e-6] > 5.0 and swing[0.2] < 1.0  # the prior's own spread is 1


def test_layouts_hold_two_pins_and_a_gap():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lay = draw_layout(rng, 16, 8, 72)
        assert 2 <= lay.a < lay.b <= 14 and lay.b - lay.a <= 9
        assert len(lay.known()) == 16 - (lay.b - lay.a)
    with pytest.raises(ValueError):
        draw_layout(rng, 4, 8)


def test_mirror_swaps_sides_and_reflects_positions():
    sk = toy_skeleton()
    m = random_motion(sk, 24, seed=3)
    stats = {"vel_scale": 5.0, "height_mean": 90.0, "height_scale": 30.0, "pos_scale": 50.0}
    codec = FeatureCodec(sk, stats)
    x = torch.from_numpy(codec.encode_motion(m))[None]  # (1, 9, T, J)
    mm = torch.from_numpy(sk.mirror_map())
    y = mirror_features(x, mm)
    assert torch.allclose(mirror_features(y, mm), x)
    px, py = codec.world_positions(x)[0], codec.world_positions(y)[0]  # (T, J, 3)
    flipped = px[:, mm] * torch.tensor([-1.0, 1.0, 1.0])
    # Positions start from the window's first frame, so compare them relative to it.
    assert torch.allclose(py - py[:1, :1], flipped - flipped[:1, :1], atol=1e-3)


def test_each_new_term_moves_its_loss_and_reaches_the_networks():
    tr = toy_trainer(seed=5)
    assert tr.tcfg.latent_moments > 0 and tr.tcfg.complete > 0 and tr.tcfg.mirror
    before = state(tr)
    logs = [tr.train_step() for _ in range(6)]
    for key in ("moments", "complete_pin", "complete_gap", "complete_path", "complete_adv"):
        vals = [m[key] for m in logs]
        assert all(np.isfinite(vals)) and len({round(v, 6) for v in vals}) > 1, key
    after = tr.model_tensors()
    for net in "GH":
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + ".")), net


def test_completion_loss_alone_trains_g_and_h():
    tr = toy_trainer(seed=6)
    tr.tcfg.latent_moments = 0.0
    for p in tr.D.parameters():  # as in train_step: the critic is frozen while G and H learn
        p.requires_grad_(False)
    tr.G.eval()
    loss, logs = tr.job_losses()
    assert set(logs) >= {"complete_pin", "complete_gap", "complete_path", "complete_adv"}
    loss.backward()
    for net in (tr.G, tr.H):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    assert all(p.grad is None for p in tr.D.parameters())


def _standing_dataset():
    """Three tang23 clips whose feet rest on the floor for the first half, then swing (real contacts)."""
    from csgn_core.motion import quaternion as Q
    from csgn_core.motion.clip import Motion
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    clips = []
    for i in range(3):
        F_ = 80
        ang = np.zeros((F_, sk.n_joints))
        ang[F_ // 2:] = 0.6 * np.sin(np.linspace(0, 6 * np.pi, F_ - F_ // 2))[:, None]
        axes = np.broadcast_to(np.array([1.0, 0.0, 0.0]), (F_, sk.n_joints, 3))
        rot = Q.from_axis_angle(axes, ang * (np.arange(sk.n_joints) % 3 == 1))
        root = np.zeros((F_, 3)) + [0.0, 95.0 + i, 0.0]
        clips.append(Motion(sk, 25.0, rotations=rot, root=root))
    return dataset_of("standing", clips, [0, 0, 0])


def _contact_trainer():
    from csgn_core.motion.contacts import contact_point_indices

    ds = _standing_dataset()
    tr = toy_trainer(ds, seed=1, contact_joints=contact_point_indices(ds.skeleton))
    assert tr.mcfg.foot_contacts and tr.tcfg.foot_still > 0
    return tr


def test_contact_channels_hold_real_labels_and_the_foot_loss_trains():
    tr = _contact_trainer()
    cj = tr.codec.contact_joints
    assert [tr.skeleton.joints[j] for j in cj] == ["l_heel", "l_toe", "r_heel", "r_toe"]
    f = tr.sampler.features  # (frames, 9, J)
    labels = f[:, 6, cj]
    assert set(np.unique(labels.numpy())) == {-1.0, 1.0}
    assert float((labels > 0).float().mean()) > 0.3  # the resting halves are in contact
    others = [j for j in range(1, f.shape[2]) if j not in cj]
    assert torch.all(f[:, 6:, others] == 0)
    # Mirroring keeps a contact a contact (it swaps the feet, it does not negate the label).
    from csgn_core.model.train.windows import mirror_features
    x = tr.sampler.sample(4, np.random.default_rng(0), yaw=False)
    y = mirror_features(x, tr.sampler.mirror_map)
    assert torch.equal(y[:, 6, :, cj[0]], x[:, 6, :, cj[2]])
    logs = [tr.train_step() for _ in range(4)]
    assert all(np.isfinite(m["foot_slide"]) for m in logs) and len({round(m["foot_slide"], 7) for m in logs}) > 1
    # A sliding foot marked in contact costs; the same foot marked in the air does not.
    slide = x.clone()
    slide[:, 6, :, 0] = 0.5  # the root moves sideways: every foot slides
    on, off = slide.clone(), slide.clone()
    on[:, 6, :, cj] = 1.0
    off[:, 6, :, cj] = -1.0
    assert float(tr.codec.foot_slide(on)) > 0.1 and float(tr.codec.foot_slide(off)) == 0.0


def test_generated_contacts_reach_the_motion_the_fill_and_the_clean_up():
    from csgn_core.editing.completion import new_timeline
    from csgn_core.model.inference import generate
    from csgn_core.motion.contacts import contacts_from_meta
    from csgn_core.motion.footclean import clean_feet

    tr = _contact_trainer()
    model = tr.inference_model()
    m = generate(model, 2.0, seed=0)
    flags = contacts_from_meta(m)
    assert flags is not None and set(flags) == {"l_heel", "l_toe", "r_heel", "r_toe"}
    assert all(len(v) == m.n_frames for v in flags.values())
    doc = new_timeline(model, 2.0, seed=0)
    assert contacts_from_meta(doc.fill.motion) is not None
    assert contacts_from_meta(m.slice(0, 10)) is None  # made for another frame count
    # A pinned take: fill, then a new variant of one gap; contacts stay whole and pins keep theirs.
    from csgn_core.editing.completion import fill, fill_stale, resample_gap
    from csgn_core.editing.timeline import Pin, Timeline

    doc = Timeline(m.n_frames * 2, model.fps, "toy", model.skeleton)
    doc.pins = doc.check_pins([Pin(m, 0, 20, 30)])
    doc.set_fill(fill(doc, model, 0))
    before = contacts_from_meta(doc.fill.motion)
    assert before is not None and all(len(v) == doc.length for v in before.values())
    doc.set_fill(resample_gap(doc, model, 60, seed=5))
    after = contacts_from_meta(doc.fill.motion)
    assert after is not None and all(np.array_equal(after[k][:50], before[k][:50]) for k in before)
    doc.set_fill(fill_stale(doc, model, 7))
    assert contacts_from_meta(doc.fill.motion) is not None
    # clean_feet pins what it is given.
    given = {k: np.zeros(m.n_frames, bool) for k in flags}
    given["l_toe"][:20] = True
    _, rep = clean_feet(m, contacts=given)
    assert rep["contacts"]["l_toe"] == 1 and rep["contacts"]["r_heel"] == 0


def test_moment_loss_does_not_reward_a_constant_latent():
    prior = GPPrior(GPPriorConfig(channels=16, sigma_bar=8.0))
    rows = torch.from_numpy(prior.kernel_rows(8)).float()
    const = torch.full((64, 16, 8), 0.85)  # E[h^2] near 1, but no spread at all
    assert latent_moment_loss(const, rows) > 10.0
    h = torch.full((64, 16, 8), 0.85, requires_grad=True)
    latent_moment_loss(h + 0.1 * torch.randn(64, 16, 8), rows).backward()
    assert float(h.grad.sum()) > 0  # the mean is pulled down towards 0


def test_decorrelation_term_sees_channels_that_share_one_code():
    prior = GPPrior(GPPriorConfig(channels=16, sigma_bar=8.0))
    rows = torch.from_numpy(prior.kernel_rows(8)).float()
    z = torch.from_numpy(prior.sample(8, 512, np.random.default_rng(0))).float()
    shared = z[:, :1].expand(-1, 16, -1)  # every channel the same code: right moments, one direction
    assert latent_moment_loss(shared, rows, decorrelate=1.0) > latent_moment_loss(shared, rows) + 5.0
    assert latent_moment_loss(z, rows, decorrelate=1.0) < latent_moment_loss(z, rows) + 0.1


def test_inverse_regressor_settings_train_without_a_critic():
    """n_critic 0 with no adversarial weight (an autoencoder phase), a squared z-cycle in inference
    mode, and H on an optimiser of its own: every loss still moves and the weights change."""
    tr = toy_trainer(seed=2)
    for text in ("n_critic=0", "adversarial=0", "cycle_z_mse=true", "cycle_z_eval=true", "lr_h=0.001",
                 "beta1_h=0.9", "latent_decorrelate=1"):
        tr.tcfg.override(text)
    tr2 = type(tr)(tr.mcfg, tr.tcfg, tr.sampler, seed=2)
    assert tr2.opt["H"].param_groups[0]["lr"] == 0.001 and tr2.opt["H"].param_groups[0]["betas"][0] == 0.9
    assert tr2.opt["G"].param_groups[0]["lr"] == tr.tcfg.lr
    before = state(tr2)
    logs = [tr2.train_step() for _ in range(4)]
    assert all(m["loss_d"] == 0.0 for m in logs)
    for key in ("cycle_z", "cycle_x", "moments", "complete_pin"):
        assert len({round(m[key], 6) for m in logs}) > 1, key
    after = tr2.model_tensors()
    for net in "GH":
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + ".")), net
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("D."))  # no critic step


def test_speed_match_term_moves_g_towards_the_data_speeds():
    tr = toy_trainer(seed=8)
    tr.tcfg.motion_stats = 1.0
    real = tr.real_speeds()
    assert real.shape == (tr.skeleton.n_joints + 1,) and torch.all(real[1:] > 0.05)  # [0]: the root to itself
    # A still body (every frame the first frame's pose, no root travel) costs; the data's own windows cost little.
    x = tr.sampler.sample(8, np.random.default_rng(1), yaw=True)
    still = x[:, :, :1].expand_as(x).clone()
    still[:, 6:8, :, 0] = 0.0  # no root velocity
    cost = lambda f: float(((tr.codec.speed_profile(f) + 0.05).log() - real.log()).pow(2).mean())  # noqa: E731
    assert cost(still) > 10 * cost(x)
    before = state(tr)
    logs = [tr.train_step() for _ in range(4)]
    vals = [m["speed_match"] for m in logs]
    assert all(np.isfinite(vals)) and len({round(v, 6) for v in vals}) > 1
    after = tr.model_tensors()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("G."))


def test_contact_rate_term_keeps_g_marking_contacts():
    """G cannot meet foot_still by marking no contacts: free samples' contact fraction per point is
    pulled to the data's, and the term trains G and survives a checkpoint."""
    tr = _contact_trainer()
    tr.tcfg.contact_rate = 1.0
    real = tr.real_contact_rates()
    assert real.shape == (4,) and torch.all((real > 0.3) & (real < 1.0))  # the resting halves stand
    x = tr.sampler.sample(8, np.random.default_rng(2), yaw=True)
    lifted = x.clone()
    lifted[:, 6, :, tr.codec.contact_joints] = -1.0  # every point in the air
    cost = lambda f: float((tr.codec.contacts(f).mean(dim=(0, 1)) - real).pow(2).mean())  # noqa: E731
    assert cost(lifted) > 10 * cost(x) + 0.05
    before = state(tr)
    logs = [tr.train_step() for _ in range(4)]
    vals = [m["contact_rate"] for m in logs]
    assert all(np.isfinite(vals)) and len({round(v, 7) for v in vals}) > 1
    after = tr.model_tensors()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("G."))


def test_fake_margin_draws_free_samples_as_inference_decodes_them():
    """With fake_margin, a free sample's latent has G's receptive radius of extra steps each side and
    the window is the middle of G's output, the frames inference keeps; the z-cycle compares H of it
    with the window's own steps. It trains and survives a checkpoint."""
    import tempfile
    from pathlib import Path

    tr = toy_trainer(seed=5)
    tr.tcfg.fake_margin = True
    m, S, W = tr.G.latent_radius(), tr.mcfg.step_frames, tr.mcfg.window
    z = tr.latent(3)
    assert m > 0 and z.shape[2] == W // S + 2 * m
    with torch.no_grad():
        tr.G.eval()
        full, window = tr.G(z).float(), tr.fake(z)
    assert window.shape[2] == W and torch.equal(window, full[:, :, m * S:m * S + W])
    assert torch.equal(tr.window_latent(z), z[:, :, m:m + W // S])
    before = state(tr)
    logs = [tr.train_step() for _ in range(3)]
    assert all(np.isfinite(r["cycle_z"]) for r in logs)
    assert any(not torch.equal(before[k], v) for k, v in tr.model_tensors().items() if k.startswith("G."))
    with tempfile.TemporaryDirectory() as d:
        from csgn_core.model.train.checkpoint import read_checkpoint

        doc, _, _ = read_checkpoint(tr.save(Path(d)))
        assert doc["train"]["fake_margin"] is True


def test_complete_margin_decodes_pins_inside_a_conditioned_latent():
    """With complete_margin, the completion path and the x-cycle decode the window's latents inside a
    latent with G's receptive radius of GP-conditioned steps on each side, as the editor decodes
    H's latents of a pin, and keep the middle; the known steps come back as given. It trains."""
    tr = toy_trainer(seed=6)
    tr.tcfg.complete_margin = True
    m, S = tr.decode_margin(), tr.mcfg.step_frames
    assert m == tr.G.latent_radius() > 0
    z = torch.from_numpy(tr.prior.sample(3, 2, np.random.default_rng(0))).float()
    cond = tr.conditioner(CompletionLayout(3, 3, 3))
    zz = cond(z, torch.randn(2, z.shape[1], 3 + 2 * m))
    assert zz.shape[2] == 3 + 2 * m and torch.allclose(zz[:, :, m:m + 3], z, atol=1e-2)
    tr.G.eval()
    with torch.no_grad():
        out = tr.decode_known(z)
    assert out.shape[2] == 3 * S
    # The margins are drawn, not zero: the edge frames differ from a decode of the window alone.
    with torch.no_grad():
        alone = tr.G(z).float()
    assert not torch.allclose(out[:, :, :S], alone[:, :, :S], atol=1e-4)
    before = state(tr)
    logs = [tr.train_step() for _ in range(3)]
    assert all(np.isfinite(r["complete_pin"]) and np.isfinite(r["cycle_x"]) for r in logs)
    assert len({round(r["complete_pin"], 7) for r in logs}) > 1
    assert any(not torch.equal(before[k], v) for k, v in tr.model_tensors().items() if k.startswith("G."))


def test_travel_match_pulls_long_takes_towards_the_data_net_travel():
    """The root's net travel over a long decode is the distance between its first and last positions
    (as forward kinematics places them); the term compares free samples' mean with the data's, trains
    G and survives a checkpoint."""
    import tempfile
    from pathlib import Path

    from csgn_core.model.train.checkpoint import read_checkpoint

    tr = toy_trainer(seed=9)
    tr.tcfg.travel_match, tr.tcfg.travel_frames, tr.tcfg.travel_batch = 1.0, 24, 3
    x = tr.sampler.sample(6, np.random.default_rng(3), yaw=True, window=24)
    p = tr.codec.world_positions(x)[:, :, 0, [0, 2]]  # (N, T, 2) the root over the floor
    np.testing.assert_allclose(tr.codec.root_travel(x).numpy(), (p[:, -1] - p[:, 0]).norm(dim=-1).numpy(),
                               rtol=1e-4, atol=1e-2)
    real = tr.real_travel()
    assert float(real) > 5.0  # the toy data's root moves
    longest = int(tr.sampler.lengths.max())
    with pytest.raises(CSGNError, match="holds"):  # a held last frame would carry its velocity on
        tr.sampler.sample(2, np.random.default_rng(0), window=longest + 1, whole=True)
    w = tr.sampler.sample(20, np.random.default_rng(0), window=longest, whole=True)
    assert torch.equal(w[:, 8], w[:1, 8].expand_as(w[:, 8]))  # the root's height: the longest clip, each time
    still = x.clone()
    still[:, 6:8, :, 0] = 0.0  # no root velocity
    assert float(tr.codec.root_travel(still).max()) < 1e-2
    long = tr.fake_long()
    assert long.shape == (3, 9, 24, tr.skeleton.n_joints)
    before = state(tr)
    logs = [tr.train_step() for _ in range(3)]
    vals = [r["travel_match"] for r in logs]
    assert all(np.isfinite(vals)) and len({round(v, 7) for v in vals}) > 1
    assert any(not torch.equal(before[k], v) for k, v in tr.model_tensors().items() if k.startswith("G."))
    with tempfile.TemporaryDirectory() as d:
        doc, _, _ = read_checkpoint(tr.save(Path(d)))
        assert doc["train"]["travel_match"] == 1.0 and doc["train"]["travel_frames"] == 24


def test_root_speed_term_weighs_the_root_on_its_own():
    """root_speed adds the root's own entry of the speed match (the root over the floor): a window
    whose root stands still costs it, the data's cost little; it trains G alone, without motion_stats."""
    tr = toy_trainer(seed=10)
    tr.tcfg.motion_stats, tr.tcfg.root_speed = 0.0, 1.0
    real = tr.real_speeds()
    x = tr.sampler.sample(8, np.random.default_rng(4), yaw=True)
    parked = x.clone()
    parked[:, 6:8, :, 0] = 0.0  # the body moves, the root does not travel
    cost = lambda f: float(((tr.codec.speed_profile(f)[-1] + 0.05).log() - real[-1].log()).pow(2))  # noqa: E731
    assert cost(parked) > 10 * cost(x) + 0.1
    before = state(tr)
    logs = [tr.train_step() for _ in range(3)]
    vals = [r["root_speed"] for r in logs]
    assert all(np.isfinite(vals)) and len({round(v, 7) for v in vals}) > 1
    assert any(not torch.equal(before[k], v) for k, v in tr.model_tensors().items() if k.startswith("G."))
