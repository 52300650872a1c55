"""tinyzh's CPU dropout: the rate and scale of torch's, unbiased in bf16, seeded, and swapped into a student."""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel

from tinyzh.distill.dropout import FastDropout, dropout, use_fast_dropout, zero_dropped

P_USED = round(0.1 * 65536) / 65536  # p rounded to the mask's 16-bit resolution


def test_keep_rate_and_scale() -> None:
    torch.manual_seed(0)
    y = dropout(torch.ones(1_000_000), 0.1)
    kept = y != 0
    # 1e6 draws: the kept fraction's standard deviation is 3e-4.
    assert abs(kept.float().mean().item() - (1 - P_USED)) < 1.5e-3
    assert torch.all(y[kept] == 1 / (1 - P_USED))


def test_bf16_output_is_unbiased() -> None:
    """A scale rounded into a bf16 mask (1.109 for 1/0.9) would shrink the mean by 0.16 %."""
    torch.manual_seed(1)
    x = (torch.rand(4_000_000) + 1).to(torch.bfloat16)
    ratio = dropout(x, 0.1).float().mean() / x.float().mean()
    assert abs(ratio.item() - 1) < 8e-4  # sampling noise: 1.7e-4 standard deviation


def test_gradient_is_the_scaled_mask() -> None:
    torch.manual_seed(2)
    x = torch.randn(64, 50, requires_grad=True)
    y = dropout(x, 0.3)
    y.backward(torch.full_like(y, 2.0))
    assert x.grad is not None
    expected = (y != 0).float() * 2.0 / (1 - round(0.3 * 65536) / 65536)
    assert torch.allclose(x.grad, expected)
    assert torch.allclose(y, x.detach() * expected / 2.0)


def test_seeded_and_drawn_from_the_global_generator() -> None:
    x = torch.ones(1000)
    torch.manual_seed(3)
    first, second = dropout(x, 0.5), dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.5), first)
    assert not torch.equal(first, second)


def test_identity_when_off() -> None:
    x = torch.randn(10)
    assert dropout(x, 0.1, training=False) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros(10))  # torch's own path at the edges
    torch.manual_seed(6)
    assert (dropout(torch.ones(10_000), 1 - 1e-7) == 0).all()  # would round to 65536/65536, past int16
    assert (dropout(torch.ones(10_000), 1e-7) != 0).sum() >= 9_999


def test_zero_dropped_leaves_the_scale_to_the_caller() -> None:
    torch.manual_seed(4)
    x = torch.ones(10_000)
    zeroed, rescale = zero_dropped(x, 0.1)
    assert rescale == 1 / (1 - P_USED)
    assert set(zeroed.unique().tolist()) == {0.0, 1.0}
    assert zero_dropped(x, 0.1, training=False) == (x, 1.0)


def test_student_dropouts_are_swapped_without_changing_weights() -> None:
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.1)
    torch.manual_seed(5)
    model = BertModel(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plain = sum(type(m) is nn.Dropout for m in model.modules())
    assert use_fast_dropout(model) == plain > 0
    fast = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert all(type(m) is FastDropout for m in fast) and len(fast) == plain
    assert sorted({m.p for m in fast}) == [0.1, 0.2]
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    ids = torch.tensor([[2, 5, 7, 9]])
    model.eval()
    assert torch.equal(model(ids).last_hidden_state, model(ids).last_hidden_state)  # eval: no dropout
    model.train()
    assert not torch.equal(model(ids).last_hidden_state, model(ids).last_hidden_state)
