"""Each loss against a value computed by hand (plain Python loops over the same numbers)."""

from __future__ import annotations

import math

import pytest
import torch

from tinyzh.distill import losses


def _mask() -> torch.Tensor:
    return torch.tensor([[1, 1, 1], [1, 1, 0]])  # (B=2, T=3), second row padded at the end


def test_hidden_mse_skips_padding() -> None:
    g = torch.Generator().manual_seed(0)
    h_S, h_T = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    mask = _mask()
    total, count = 0.0, 0
    for b in range(2):
        for t in range(3):
            if mask[b, t]:
                for d in range(4):
                    total += (h_S[b, t, d].item() - h_T[b, t, d].item()) ** 2
                    count += 1
    assert losses.hidden_mse(h_S, h_T, mask).item() == pytest.approx(total / count, rel=1e-5)


def test_hidden_normalised_is_the_error_over_the_teachers_spread() -> None:
    g = torch.Generator().manual_seed(2)
    h_S, h_T = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g) * 0.1 + 5.0
    h_T[1, 2] = 1e3  # the padded token: neither in the error nor in the teacher's mean or spread
    mask = _mask()
    real = [(b, t) for b in range(2) for t in range(3) if mask[b, t]]
    mean = [sum(h_T[b, t, d].item() for b, t in real) / len(real) for d in range(4)]
    error = sum((h_S[b, t, d].item() - h_T[b, t, d].item()) ** 2 for b, t in real for d in range(4))
    spread = sum((h_T[b, t, d].item() - mean[d]) ** 2 for b, t in real for d in range(4))
    assert losses.hidden_normalised(h_S, h_T, mask).item() == pytest.approx(error / spread, rel=1e-5)
    # scale-free: 1 for the teacher's mean state everywhere, 0 for the teacher itself, at any scale
    constant = torch.tensor(mean).expand(2, 3, 4)
    for scale in (1.0, 0.01):
        assert losses.hidden_normalised(constant * scale, h_T * scale, mask).item() == pytest.approx(1.0, rel=1e-4)
    assert losses.hidden_normalised(h_T, h_T, mask).item() == 0.0


def test_hidden_normalised_gradient_is_hidden_mse_scaled() -> None:
    """The teacher's spread is a constant of the batch: the gradient is MSE's times count / spread."""
    g = torch.Generator().manual_seed(3)
    h_S, h_T = torch.randn(2, 3, 4, generator=g).requires_grad_(), torch.randn(2, 3, 4, generator=g)
    mask = _mask()
    losses.hidden_normalised(h_S, h_T, mask).backward()
    normalised = h_S.grad.clone()
    h_S.grad = None
    losses.hidden_mse(h_S, h_T, mask).backward()
    ratio = normalised[mask.bool()] / h_S.grad[mask.bool()]
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)
    assert normalised[1, 2].abs().sum() == 0


def test_attention_mse_on_valid_pairs_only() -> None:
    g = torch.Generator().manual_seed(1)
    s_S, s_T = torch.randn(2, 2, 3, 3, generator=g), torch.randn(2, 2, 3, 3, generator=g)
    s_T[1, :, 2, :] = 1e4  # padded query row and key column: must not matter
    s_T[1, :, :, 2] = -1e4
    mask = _mask()
    total, count = 0.0, 0
    for b in range(2):
        for h in range(2):
            for i in range(3):
                for j in range(3):
                    if mask[b, i] and mask[b, j]:
                        total += (s_S[b, h, i, j].item() - s_T[b, h, i, j].item()) ** 2
                        count += 1
    assert losses.attention_mse(s_S, s_T, mask).item() == pytest.approx(total / count, rel=1e-5)


def _softmax(row: list[float]) -> list[float]:
    top = max(row)
    exps = [math.exp(x - top) for x in row]
    return [e / sum(exps) for e in exps]


def test_attention_kl_by_hand() -> None:
    g = torch.Generator().manual_seed(2)
    s_S, s_T = torch.randn(2, 2, 3, 3, generator=g), torch.randn(2, 2, 3, 3, generator=g)
    mask = _mask()
    total, count = 0.0, 0
    for b in range(2):
        keys = [j for j in range(3) if mask[b, j]]
        for h in range(2):
            for i in range(3):
                if not mask[b, i]:
                    continue
                p_T = _softmax([s_T[b, h, i, j].item() for j in keys])
                p_S = _softmax([s_S[b, h, i, j].item() for j in keys])
                total += sum(t * math.log(t / s) for t, s in zip(p_T, p_S, strict=True))
                count += 1
    assert losses.attention_kl(s_S, s_T, mask).item() == pytest.approx(total / count, rel=1e-5)
    assert losses.attention_kl(s_T, s_T, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_soft_ce_with_temperature() -> None:
    z_S = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    z_T = torch.tensor([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    tau = 2.0
    expected = 0.0
    for b in range(2):
        p_T = _softmax([x / tau for x in z_T[b].tolist()])
        p_S = _softmax([x / tau for x in z_S[b].tolist()])
        expected += -sum(t * math.log(s) for t, s in zip(p_T, p_S, strict=True))
    assert losses.soft_ce(z_S, z_T, tau).item() == pytest.approx(expected / 2, rel=1e-5)


def test_hard_and_mlm_ce() -> None:
    z = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = torch.tensor([1, 0])
    expected = -(math.log(_softmax(z[0].tolist())[1]) + math.log(_softmax(z[1].tolist())[0])) / 2
    assert losses.hard_ce(z, labels).item() == pytest.approx(expected, rel=1e-5)
    assert losses.mlm_ce(z, labels).item() == pytest.approx(expected, rel=1e-5)
    assert losses.mlm_ce(z[:0], labels[:0]).item() == 0.0  # a batch without masked tokens


def test_losses_are_looked_up_by_name() -> None:
    assert set(losses.LOSSES) == {"hidden_mse", "hidden_normalised", "attention_mse", "attention_kl", "attention_relation", "soft_ce",
                                   "hard_ce", "mlm_ce"}


@pytest.mark.parametrize("loss, shape, name", [
    (losses.hidden_mse, (2, 3, 4), "hidden"),
    (losses.attention_mse, (2, 2, 3, 3), "attention"),
])
def test_squared_error_gradients_match_plain_autograd(loss, shape: tuple[int, ...], name: str) -> None:
    """The hand-written backward (one saved difference) gives autograd's gradients, teacher side too."""
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    mask = _mask()
    a1, b1 = a.clone().requires_grad_(), b.clone().requires_grad_()
    (3.0 * loss(a1, b1, mask)).backward()
    assert torch.equal(a1.detach(), a) and torch.equal(b1.detach(), b)  # the in-place steps work on a copy
    m = mask.float()
    weights = m[:, :, None] if name == "hidden" else (m[:, None, :, None] * m[:, None, None, :])
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    reference = ((a2 - b2).pow(2) * weights).sum() / (weights.expand_as(a2).sum() if name == "hidden"
                                                      else weights.sum() * shape[1])
    (3.0 * reference).backward()
    assert torch.allclose(a1.grad, a2.grad, atol=1e-6) and torch.allclose(b1.grad, b2.grad, atol=1e-6)
    assert a1.grad[1, 2].abs().sum() == 0 if name == "hidden" else a1.grad[1, :, 2, :].abs().sum() == 0


@pytest.mark.parametrize("name", ["hidden", "attention"])
def test_squared_error_bf16_sums_in_fp32_and_returns_bf16_gradients(name: str) -> None:
    g = torch.Generator().manual_seed(6)
    shape = (2, 50, 40) if name == "hidden" else (2, 16, 3, 3)  # _mask() is (2, 3)
    mask = _mask() if name == "attention" else torch.ones(2, 50)
    if name == "hidden":
        mask[1, 30:] = 0
    loss = losses.hidden_mse if name == "hidden" else losses.attention_mse
    a = torch.randn(*shape, generator=g).to(torch.bfloat16).requires_grad_()
    b = torch.randn(*shape, generator=g).to(torch.bfloat16).requires_grad_()  # both sides get a gradient
    value = loss(a, b, mask)
    (3.0 * value).backward()
    assert value.dtype == torch.float32
    a32, b32 = a.detach().float().requires_grad_(), b.detach().float().requires_grad_()
    exact = loss(a32, b32, mask)
    (3.0 * exact).backward()
    # The bf16 difference is rounded once (bf16's unit roundoff is 2^-8), squared and summed in fp32.
    assert value.item() == pytest.approx(exact.item(), rel=1e-3)
    for low, high in ((a, a32), (b, b32)):
        assert low.grad is not None and low.grad.dtype == torch.bfloat16
        # the fp32 gradient to two bf16 roundings (the difference, then the product): 2 x 2^-8
        assert torch.allclose(low.grad.float(), high.grad, rtol=2**-7, atol=0)
    # bit for bit: the bf16 difference times the fp32 factor, rounded once (the factor is not rounded first)
    weights = mask.float()[:, :, None] if name == "hidden" else mask.float()[:, None, :, None] * mask.float()[:, None, None, :]
    count = weights.expand(shape).sum() if name == "hidden" else weights.sum() * shape[1]
    factor = torch.tensor(2.0 * 3.0) / count
    diff = (a.detach() - b.detach()) * weights.to(torch.bfloat16)
    assert torch.equal(a.grad, (diff.float() * factor).to(torch.bfloat16))
    padded = a.grad[1, 30:] if name == "hidden" else a.grad[1, :, 2, :]
    assert padded.abs().sum() == 0  # padded positions still get nothing


def test_squared_error_skips_an_all_ones_mask_with_the_same_result() -> None:
    g = torch.Generator().manual_seed(7)
    a = torch.randn(2, 3, 4, 4, generator=g).requires_grad_()
    b = torch.randn(2, 3, 4, 4, generator=g)
    full = torch.ones(2, 4)
    a2 = a.detach().clone().requires_grad_()
    losses.attention_mse(a, b, full).backward()
    reference = (a2 - b).pow(2).mean()
    reference.backward()
    assert torch.allclose(losses.attention_mse(a.detach(), b, full), reference.detach(), rtol=1e-6)
    assert torch.allclose(a.grad, a2.grad, rtol=1e-5, atol=1e-7)


def test_squared_error_traces_without_a_graph_break() -> None:
    """Under --compile the all-ones check is skipped: a data-dependent branch would split the graph."""
    a = torch.randn(2, 4, 3, 3, requires_grad=True)
    b = torch.randn(2, 4, 3, 3)
    explained = torch._dynamo.explain(losses.attention_mse)(a, b, torch.ones(2, 3))
    assert explained.graph_break_count == 0 and explained.graph_count == 1
