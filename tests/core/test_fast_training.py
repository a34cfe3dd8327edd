"""Issue 18's faster training step: the same numbers where the maths did not change, and each new
setting trains."""
import numpy as np
import torch

from csgn_core.model.features import _cross, fk_torch, matrix_to_6d, sixd_to_matrix
from csgn_core.model.train.trainer import cpu_has_native_bf16

from .helpers import toy_trainer
from .test_trainer import state


def _reference_fk(local, root, offsets, parents):
    """Forward kinematics with broadcast products, as the codec computed it before issue 18."""
    J = local.shape[-3]
    glob, pos = [None] * J, [None] * J
    glob[0], pos[0] = local[..., 0, :, :], root
    for j in range(1, J):
        p = parents[j]
        pos[j] = pos[p] + (glob[p] * offsets[j]).sum(-1)
        glob[j] = (glob[p][..., :, :, None] * local[..., j, None, :, :]).sum(-2)
    return torch.stack(pos, dim=-2)


def test_plane_rotations_and_fk_match_the_reference():
    tr = toy_trainer(seed=3)
    x = tr.sampler.sample(4, np.random.default_rng(0), yaw=True)
    x[:, :6] += 0.3 * torch.randn_like(x[:, :6])  # generated 6D is not orthonormal
    rot = tr.codec.rotations(x)
    ref = sixd_to_matrix(x[:, :6].permute(0, 2, 3, 1))
    assert torch.allclose(rot, ref, atol=1e-6)
    b1, b2 = ref[..., :, 0], ref[..., :, 1]
    assert torch.allclose(ref[..., :, 2], _cross(b1, b2), atol=1e-6)
    ci = tr.codec.critic_input(x)
    assert torch.allclose(ci[:, :6], matrix_to_6d(ref).permute(0, 3, 1, 2), atol=1e-6)
    root = torch.zeros(rot.shape[:2] + (3,))
    sk = tr.skeleton
    fk = fk_torch(rot, root, tr.codec.offsets, sk.parents)
    assert torch.allclose(fk, _reference_fk(rot, root, tr.codec.offsets, sk.parents), atol=1e-4)


def test_penalty_on_the_critic_input_trains_the_critic():
    tr = toy_trainer(seed=4)
    assert tr.tcfg.gp_critic_input  # on in every preset
    before = state(tr)
    logs = [tr.train_step() for _ in range(4)]
    assert all(np.isfinite(m["penalty"]) for m in logs) and len({round(m["penalty"], 9) for m in logs}) > 1
    after = tr.model_tensors()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("D."))


def test_cpu_bf16_follows_the_hardware_and_trains():
    tr = toy_trainer(seed=5)
    tr.tcfg.cpu_bf16 = True
    from csgn_core.model.train.trainer import Trainer

    tr2 = Trainer(tr.mcfg, tr.tcfg, tr.sampler, seed=5)
    assert tr2.amp == cpu_has_native_bf16()
    logs = [tr2.train_step() for _ in range(3)]
    assert all(np.isfinite(m["loss_d"]) and np.isfinite(m["cycle_x"]) for m in logs)
    tr.tcfg.cpu_bf16 = False
    assert not Trainer(tr.mcfg, tr.tcfg, tr.sampler, seed=5).amp


def test_plane_rotations_have_finite_gradients_at_zero_vectors():
    from csgn_core.model.features import sixd_planes

    f = torch.randn(2, 6, 5, 3)
    f[0, :3, 1, 2] = 0.0  # a degenerate first column, as an untrained generator can emit
    f[1, 3:, 2, 0] = f[1, :3, 2, 0]  # a second column parallel to the first
    f.requires_grad_(True)
    sum(b.sum() for b in sixd_planes(f)).backward()
    assert torch.isfinite(f.grad).all()
