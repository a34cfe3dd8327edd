import json

import numpy as np
import pytest
import torch

from csgn_core.errors import CSGNError
from csgn_core.model.config import PRESETS, ModelConfig, TrainConfig, preset
from csgn_core.model.features import (
    N_CRITIC,
    N_FEAT,
    FeatureCodec,
    bridge_rotations,
    degenerate_frames,
    feature_stats,
    fk_torch,
    heading_np,
    matrix_to_6d,
    quat_to_6d_np,
    quat_to_matrix,
    root_track_np,
    sixd_to_matrix,
)
from csgn_core.model.inference import (
    decode,
    decode_features,
    encode,
    export_model,
    generate,
    load_model,
    pad_latent,
    sample_latent,
)
from csgn_core.model.networks import build_networks, count_parameters
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import forward_kinematics
from csgn_core.motion.skeleton import load_named, named_skeletons

from .helpers import random_motion, tiny_config, toy_model, toy_skeleton

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def all_skeletons():
    return [toy_skeleton()] + [load_named(n) for n in named_skeletons()]


# --- rotations and kinematics ----------------------------------------------------------------------
def test_6d_round_trip_and_orthonormalisation():
    q = Q.normalize(np.random.default_rng(0).normal(size=(50, 4)))
    six = torch.tensor(quat_to_6d_np(q))
    r = sixd_to_matrix(six)
    np.testing.assert_allclose(r.numpy(), Q.to_matrix(q), atol=1e-6)
    noisy = six * 1.7 + 0.05 * torch.randn_like(six)
    rn = sixd_to_matrix(noisy)
    eye = rn @ rn.transpose(-1, -2)
    torch.testing.assert_close(eye, torch.eye(3, dtype=eye.dtype).expand_as(eye), atol=1e-5, rtol=0)
    assert torch.allclose(torch.linalg.det(rn), torch.ones(50, dtype=rn.dtype), atol=1e-5)
    torch.testing.assert_close(matrix_to_6d(r), six.to(r.dtype), atol=1e-6, rtol=0)


@pytest.mark.parametrize("sk", all_skeletons(), ids=lambda s: s.name)
def test_torch_fk_equals_numpy_fk(sk):
    m = random_motion(sk, 30, seed=3)
    pos = fk_torch(quat_to_matrix(torch.tensor(m.rotations)), torch.tensor(m.root), torch.tensor(sk.offsets), sk.parents)
    np.testing.assert_allclose(pos.numpy(), forward_kinematics(sk, m.rotations, m.root), atol=1e-9)
    # differentiable, batched over leading axes
    rot = quat_to_matrix(torch.tensor(m.rotations, dtype=torch.float32)).requires_grad_(True)
    out = fk_torch(rot[None].expand(2, -1, -1, -1, -1), torch.zeros(2, 30, 3), torch.tensor(sk.offsets, dtype=torch.float32), sk.parents)
    out.sum().backward()
    assert out.shape == (2, 30, sk.n_joints, 3) and rot.grad is not None


def test_heading_of_pure_yaw():
    for yaw in np.linspace(-3, 3, 7):
        r = Q.to_matrix(Q.from_axis_angle(np.array([0, 1.0, 0]), yaw))
        s, c = heading_np(r)
        assert np.isclose(np.arctan2(s, c), yaw)


def test_codec_round_trip_keeps_rotations_and_root():
    sk = toy_skeleton()
    m = random_motion(sk, 50, seed=2)
    codec = FeatureCodec(sk, feature_stats(sk, root_track_np(m.rotations, m.root)))
    feat = codec.encode_motion(m)
    assert feat.shape == (N_FEAT, 50, sk.n_joints)
    assert np.all(np.abs(feat) <= 1.0) and np.all(feat[6:, :, 1:] == 0)
    rot, root = codec.decode_np(feat, origin=m.root[0])
    # rotations are equal up to sign
    dots = np.abs(np.sum(rot * m.rotations, axis=-1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-5)
    np.testing.assert_allclose(root, m.root, atol=0.05)  # float32 features, integrated velocity
    # decoded positions keep every bone at its rest length
    pos = forward_kinematics(sk, rot, root)
    lengths = np.linalg.norm(pos[:, 1:] - pos[:, list(sk.parents[1:])], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(sk.bone_lengths[1:], lengths.shape), rtol=1e-6)


def test_a_6d_column_faded_through_zero_turns_the_joint_over_frames_not_in_one():
    """A generator that turns the waist half round by fading its first 6D column through zero would,
    read by Gram-Schmidt alone, flip the waist 180 degrees in one frame. The decoder bridges such
    frames from their neighbours (slerp), so the turn spreads over the dip; real features decode as
    they were."""
    sk = toy_skeleton()
    m = random_motion(sk, 30, seed=7)
    codec = FeatureCodec(sk, feature_stats(sk, root_track_np(m.rotations, m.root)))
    feat = codec.encode_motion(m)
    assert not degenerate_frames(feat[:6].astype(float)).any()  # unit, orthogonal columns
    rot0, _ = codec.decode_np(feat)
    feat = feat.copy()
    x = np.linspace(1.0, -1.0, 30)  # the root's x axis from +x through 0 to -x: a half turn about y
    feat[0:3, :, 0] = np.stack([x, np.zeros(30), np.zeros(30)])
    feat[3:6, :, 0] = np.array([0.0, 1.0, 0.0])[:, None]
    rot, root = codec.decode_np(feat)
    turn = np.degrees(Q.angle(Q.multiply(Q.conjugate(rot[:-1, 0]), rot[1:, 0])))
    assert turn.max() < 60 and np.degrees(Q.angle(Q.multiply(Q.conjugate(rot[0, 0]), rot[-1, 0]))) > 170
    np.testing.assert_allclose(np.abs(np.sum(rot[:, 1:] * rot0[:, 1:], axis=-1)), 1.0, atol=1e-6)  # other joints as read
    # Short columns that turn smoothly are read as they are: only jumps are glitches.
    smooth = codec.encode_motion(m)
    smooth[0:6, 10:20, 1] *= 0.05
    rot_s, _ = codec.decode_np(smooth)
    np.testing.assert_allclose(np.abs(np.sum(rot_s * rot0, axis=-1)), 1.0, atol=1e-5)
    bad = np.zeros((5, 2), bool)
    bad[1:3, 0] = True
    q = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians([0.0, 170, -60, 90, 90]))[:, None].repeat(2, axis=1)
    out = bridge_rotations(q, bad)
    ang = np.degrees(Q.angle(Q.multiply(Q.conjugate(out[0, 0]), out[1:4, 0])))
    np.testing.assert_allclose(ang, [30.0, 60.0, 90.0], atol=1e-6)  # evenly from frame 0 to frame 3
    np.testing.assert_allclose(np.abs(np.sum(out[:, 1] * q[:, 1], axis=-1)), 1.0)



def test_a_bridge_stops_at_a_pin_and_ends_on_what_g_drew_there():
    """A completion decodes the pins' frames too and then replaces them: a bridge over a dip that runs
    into a pin never crosses it and ends on G's own first frame under it, the frame the splice measures
    its seam correction from (ending on the pin's pose, it was corrected twice: a snap at the seam)."""
    sk = toy_skeleton()
    m = random_motion(sk, 30, seed=7)
    codec = FeatureCodec(sk, feature_stats(sk, root_track_np(m.rotations, m.root)))
    feat = codec.encode_motion(m).copy()
    x = np.linspace(1.0, -1.0, 30)  # the half turn through a zero column: frames 12-17 collapse
    feat[0:3, :, 0] = np.stack([x, np.zeros(30), np.zeros(30)])
    feat[3:6, :, 0] = np.array([0.0, 1.0, 0.0])[:, None]
    keep = np.zeros(30, bool)
    keep[16:] = True
    pose = np.tile(Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(40.0)), (30, sk.n_joints, 1))
    free, _ = codec.decode_np(feat)
    rot, _ = codec.decode_np(feat, pinned=keep)
    assert not np.allclose(np.abs(np.sum(rot[:16] * free[:16], axis=-1)), 1.0, atol=1e-9)  # the run stops at 16
    # frames 12-15 are bridged from frame 11 to G's own frame 16: frame 15 is 4/5 of the way
    full = np.degrees(Q.angle(Q.multiply(Q.conjugate(rot[11, 0]), rot[16, 0])))
    left = np.degrees(Q.angle(Q.multiply(Q.conjugate(rot[15, 0]), rot[16, 0])))
    np.testing.assert_allclose(left, full / 5, atol=1e-6)
    assert np.degrees(Q.angle(Q.multiply(Q.conjugate(rot[16, 0]), pose[16, 0]))) > 1.0  # not the pin's pose


def test_critic_input_is_heading_invariant_except_root_rotation():
    from csgn_core.motion.heading import rotate_heading

    sk = toy_skeleton()
    m = random_motion(sk, 16, seed=4)
    codec = FeatureCodec(sk, feature_stats(sk, root_track_np(m.rotations, m.root)))
    x = torch.from_numpy(codec.encode_motion(m))[None]
    xr = rotate_heading(x, torch.tensor([0.7]))
    a, b = codec.critic_input(x), codec.critic_input(xr)
    assert a.shape == (1, N_CRITIC, 16, sk.n_joints)
    torch.testing.assert_close(a[:, :, :, 1:], b[:, :, :, 1:], atol=1e-5, rtol=0)  # positions, local rotations
    torch.testing.assert_close(a[:, 6:12], b[:, 6:12], atol=1e-5, rtol=0)  # root channels and positions


def test_world_velocities_are_the_joints_speed_over_the_floor():
    """The critic's extra channels equal finite differences of the decoded global positions, turned
    into each frame's heading frame, so a foot planted on the floor reads zero."""
    sk = toy_skeleton()
    m = random_motion(sk, 40, seed=5)
    codec = FeatureCodec(sk, feature_stats(sk, root_track_np(m.rotations, m.root)), world_velocity=True)
    feat = codec.encode_motion(m)
    ci = codec.critic_input(torch.from_numpy(feat)[None].double())[0]  # (27, T, J)
    assert ci.shape[0] == N_CRITIC + 3
    rot, root = codec.decode_np(feat)
    pos = forward_kinematics(sk, rot, root)  # (T, J, 3)
    d = np.diff(pos, axis=0)  # (T-1, J, 3)
    s, c = heading_np(Q.to_matrix(rot[1:, 0]))
    s, c = s[:, None], c[:, None]
    want = np.stack([c * d[..., 0] - s * d[..., 2], d[..., 1], s * d[..., 0] + c * d[..., 2]]) / codec.stats["vel_scale"]
    np.testing.assert_allclose(ci[N_CRITIC:, 1:].numpy(), want, atol=2e-3)
    # a motion that stands still on the spot reads zero everywhere
    still = random_motion(sk, 10, seed=6)
    still.rotations[:] = still.rotations[:1]
    still.root[:] = still.root[:1]
    ci = codec.critic_input(torch.from_numpy(codec.encode_motion(still))[None])[0]
    assert ci[N_CRITIC:].abs().max() < 1e-4


# --- networks --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sk", all_skeletons(), ids=lambda s: s.name)
@pytest.mark.parametrize("h", [("graph", False), ("graph", True), ("dense", False)])
def test_network_shapes(sk, h):
    cfg = tiny_config(sk)
    cfg.h_graph, cfg.h_varying = h
    G, D, H = build_networks(cfg, sk)
    T0 = cfg.window // cfg.step_frames
    z = torch.randn(3, cfg.latent_channels, T0)
    x = G(z)
    assert x.shape == (3, N_FEAT, cfg.window, sk.n_joints)
    assert x.abs().max() <= 1.0
    codec = FeatureCodec(sk, cfg.stats, world_velocity=cfg.critic_world_velocity)
    ci = codec.critic_input(x)
    assert D(ci).shape == (3,)
    assert H(ci).shape == (3, cfg.latent_channels, T0)
    # G and H work on any multiple of the latent step, not only the training window
    z2 = torch.randn(1, cfg.latent_channels, 3 * T0 + 1)
    x2 = G(z2)
    assert x2.shape[2] == (3 * T0 + 1) * cfg.step_frames
    assert H(codec.critic_input(x2)).shape == (1, cfg.latent_channels, 3 * T0 + 1)


def test_parameter_counts_follow_presets():
    sk = load_named("tang23") if "tang23" in named_skeletons() else toy_skeleton()
    counts = {}
    for name in PRESETS:
        cfg, _ = preset(name)
        cfg.skeleton = sk.to_dict()
        G, D, H = build_networks(cfg, sk)
        counts[name] = count_parameters(G)
    assert counts["tiny"] < counts["cpu"] < counts["narrow"] < counts["paper"]
    assert 5e6 < counts["paper"] < 3e7  # Table 4: 14.8M-17.3M for CSGN
    assert counts["narrow"] < counts["paper"] / 2.5


def test_configs_round_trip_json():
    m, t = preset("cpu")
    assert ModelConfig.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert TrainConfig.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    with pytest.raises(CSGNError):
        ModelConfig.from_dict({"bogus": 1})
    with pytest.raises(CSGNError):
        preset("huge")


# --- inference ------------------------------------------------------------------------------------------

def test_generate_is_deterministic_and_cropped():
    model = toy_model(trained_norms=True)
    a = generate(model, 1.3, seed=5)
    b = generate(model, 1.3, seed=5)
    c = generate(model, 1.3, seed=6)
    assert a.n_frames == round(1.3 * model.fps) and a.skeleton.same_topology(model.skeleton)
    np.testing.assert_array_equal(a.rotations, b.rotations)
    np.testing.assert_array_equal(a.root, b.root)
    assert not np.allclose(a.rotations, c.rotations)
    np.testing.assert_allclose(np.linalg.norm(a.rotations, axis=-1), 1.0, atol=1e-9)


def test_output_smoothing_low_passes_the_decoded_features():
    from csgn_core.editing.splice import acceleration

    model = toy_model(trained_norms=True)
    z = sample_latent(model, 40, seed=2)
    raw = decode_features(model, z)
    assert model.cfg.output_smoothing == 0.0
    model.cfg.output_smoothing = 1.5
    smooth = decode_features(model, z)
    tiled = decode_features(model, z, tile_steps=8)  # smoothing runs on the whole sequence either way
    torch.testing.assert_close(tiled, smooth, atol=1e-5, rtol=1e-5)
    for a, b in ((0, 30), (50, 90), (smooth.shape[1] - 9, smooth.shape[1])):  # a crop smooths with its reach
        torch.testing.assert_close(decode_features(model, z, keep=(a, b)), smooth[:, a:b], atol=1e-5, rtol=1e-5)
    # several latents at once, in one batch or (past BATCH_STEPS) several: each as decoded alone
    import csgn_core.model.inference as inference
    zs = torch.stack([z, sample_latent(model, 40, seed=3), sample_latent(model, 40, seed=4)])
    alone = torch.stack([decode_features(model, x, keep=(8, 100)) for x in zs])
    for cap in (1000, 50):
        inference.BATCH_STEPS = cap
        try:
            torch.testing.assert_close(decode_features(model, zs, keep=(8, 100)), alone, atol=1e-5, rtol=1e-5)
        finally:
            inference.BATCH_STEPS = 320
    assert not torch.allclose(raw, smooth)
    jerk = lambda f: acceleration(model.codec.to_motion(f, model.fps).positions).mean()  # noqa: E731
    assert jerk(smooth) < 0.7 * jerk(raw)
    m = generate(model, 1.0, seed=3)  # still rotations with unit norm, bones intact
    np.testing.assert_allclose(np.linalg.norm(m.rotations, axis=-1), 1.0, atol=1e-9)


def test_tiled_decoding_equals_one_pass():
    model = toy_model(trained_norms=True)
    z = sample_latent(model, 97, seed=1)
    full = decode_features(model, z, tile_steps=None)
    tiled = decode_features(model, z, tile_steps=16)
    assert full.shape == (N_FEAT, 97 * model.step_frames, model.skeleton.n_joints)
    torch.testing.assert_close(tiled, full, atol=1e-5, rtol=1e-5)
    # a latent step changes only the frames within the receptive radius
    z2 = z.clone()
    z2[:, 50] += 1.0
    d = (decode_features(model, z2, None) - full).abs().amax(dim=(0, 2))
    changed = torch.nonzero(d > 0).flatten()
    r, S = model.G.latent_radius(), model.step_frames
    assert changed.min() >= (50 - r) * S and changed.max() < (51 + r) * S


def test_pad_latent_keeps_the_middle_and_decode_margins_crop_back():
    model = toy_model(trained_norms=True)
    z = sample_latent(model, 12, seed=2)
    p = pad_latent(model, z, 3, seed=1)
    assert p.shape == (model.cfg.latent_channels, 18)
    torch.testing.assert_close(p[:, 3:15], z)
    a = decode(model, z, 40, margin=None, seed=4)
    b = decode(model, z, 40, margin=None, seed=4)
    assert a.n_frames == 40
    np.testing.assert_array_equal(a.rotations, b.rotations)


def test_encode_and_decode_shapes():
    model = toy_model(trained_norms=True)
    m = random_motion(model.skeleton, 37, fps=model.fps)
    z = encode(model, m)
    assert z.shape == (model.cfg.latent_channels, 10)  # ceil(37 / 4) steps
    back = decode(model, z, 37)
    assert back.n_frames == 37
    with pytest.raises(CSGNError):
        encode(model, random_motion(model.skeleton, 20, fps=model.fps * 2))


@pytest.mark.parametrize("fp16", [False, True])
def test_model_folder_round_trip(tmp_path, fp16):
    model = toy_model(trained_norms=True)
    export_model(model, tmp_path / "m", fp16=fp16)
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"config.json", "model.safetensors"}
    loaded = load_model(tmp_path / "m")
    for k, v in model.G.state_dict().items():
        w = loaded.G.state_dict()[k]
        if fp16 and v.is_floating_point():
            torch.testing.assert_close(w, v.half().float())
        else:
            torch.testing.assert_close(w, v, rtol=0, atol=0)
    a = generate(loaded, 0.5, seed=3)
    b = generate(load_model(tmp_path / "m"), 0.5, seed=3)
    np.testing.assert_array_equal(a.rotations, b.rotations)


def test_load_model_errors_are_one_line(tmp_path):
    with pytest.raises(CSGNError):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(CSGNError):
        load_model(tmp_path)
    export_model(toy_model(trained_norms=True), tmp_path / "ok")
    (tmp_path / "ok" / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(CSGNError):
        load_model(tmp_path / "ok")
    with pytest.raises(CSGNError, match="not a bundled model"):
        load_model(tmp_path / "missing")


def test_load_model_takes_a_bundled_name_as_the_cli_does():
    from csgn_core.paths import model_location
    m = load_model("dance")
    assert m.skeleton.name == "tang23" and m.inverse_fidelity == load_model(model_location("dance")).inverse_fidelity


@pytest.mark.parametrize("setting", [[], ["g_upsampling=direct"], ["g_upsampling=direct", "g_sv_from=99"],
                                     ["g_graph=none"], ["g_sv_from=99"]],
                         ids=["csgn", "st-sgcn", "st-gcn", "temp-conv", "csgn-gc"])
def test_table4_generator_variants_build_and_keep_shapes(setting):
    sk = load_named("tang23")
    cfg = tiny_config(sk)
    for text in setting:
        cfg.override(text)
    G, D, H = build_networks(cfg, sk)
    T0 = cfg.window // cfg.step_frames
    x = G(torch.randn(2, cfg.latent_channels, T0))
    assert x.shape == (2, N_FEAT, cfg.window, sk.n_joints)
    if "g_graph=none" in setting:
        assert all(up.M is None for up in G.ups)
    elif "g_upsampling=direct" in setting:
        assert G.ups[0].M.shape == (sk.n_joints, 1)  # one jump from the latent vertex to every joint
    else:
        assert G.ups[0].M.shape[0] < sk.n_joints  # a coarse pyramid level first
    # the receptive field still bounds the influence of one latent step
    z = torch.randn(1, cfg.latent_channels, 3 * T0)
    G.eval()
    z2 = z.clone()
    z2[:, :, 0] += 5.0
    far = (G.latent_radius() + 1) * cfg.step_frames
    full = G(z)
    torch.testing.assert_close(full[..., far:, :], G(z2)[..., far:, :])
    # and a pass that computes only the frames kept (every block cropped to their reach) gives them
    F = full.shape[2]
    for a, b in ((0, F), (0, 5), (F - 5, F), (far, far + 1), (3, F - 7)):
        torch.testing.assert_close(G(z, keep=(a, b)), full[:, :, a:b], atol=1e-5, rtol=1e-5)


def test_model_setting_overrides_are_checked():
    cfg, _ = preset("cpu")
    cfg.override("gp_mode=single")
    cfg.override("gp_sigma=4")
    assert cfg.prior_config().sigmas().tolist() == [4.0] * cfg.latent_channels
    for bad in ["nonsense=1", "g_upsampling=sideways", "stats={}", "gp_mode"]:
        with pytest.raises(CSGNError):
            cfg.override(bad)


def test_tempo_scales_the_prior_and_energy_the_latent():
    from csgn_core.errors import CSGNError
    model = toy_model(trained_norms=True)
    base = model.prior.config.sigmas()
    np.testing.assert_allclose(model.prior_for(2.0).config.sigmas(), base / 2.0)
    assert model.prior_for(1.0) is model.prior and model.prior_for(2.0) is model.prior_for(2.0)
    z = sample_latent(model, 40, seed=4)
    torch.testing.assert_close(sample_latent(model, 40, seed=4, energy=0.5), 0.5 * z)
    # A quicker tempo makes the latent change faster from step to step (shorter length scales).
    rough = lambda t: float(np.mean([sample_latent(model, 200, seed=s, tempo=t).diff(dim=1).abs().mean()  # noqa: E731
                                     for s in range(4)]))
    assert rough(2.0) > 1.3 * rough(1.0) > 1.3 * 1.3 * rough(0.5)
    m = generate(model, 1.0, seed=3, tempo=1.5, energy=0.8)
    assert m.meta["tempo"] == 1.5 and m.meta["energy"] == 0.8
    for bad in ({"tempo": 0.0}, {"tempo": 9.0}, {"energy": -1.0}, {"tempo": float("nan")}):
        with pytest.raises(CSGNError):
            generate(model, 1.0, seed=3, **bad)
