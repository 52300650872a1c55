"""Attention capture: pre-softmax scores of chosen layers only, same outputs as plain sdpa, gradients flow."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel

from tinyzh.distill.adaptor import capture_scores, release_capture, self_attentions, take_scores


def _model() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertModel(config, add_pooling_layer=False).eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(5, 50, (2, 6), generator=torch.Generator().manual_seed(3))
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0
    return ids, mask


def test_scores_are_pre_softmax_and_outputs_unchanged() -> None:
    model = _model()
    ids, mask = _batch()
    reference = model(ids, attention_mask=mask).last_hidden_state
    eager = _model()
    eager.config._attn_implementation = "eager"
    probs = eager(ids, attention_mask=mask, output_attentions=True).attentions  # post-softmax, every layer

    capture_scores(model, layers={1, 3})
    out = model(ids, attention_mask=mask, output_hidden_states=True)
    scores = take_scores(model)
    assert sorted(scores) == [1, 3]
    assert torch.allclose(out.last_hidden_state, reference, atol=1e-5)
    # Layer 1's scores by hand: q k^T / sqrt(d) from the embedding output.
    attn = self_attentions(model)[0]
    h = out.hidden_states[0]
    q = attn.query(h).view(2, 6, 4, 8).transpose(1, 2)
    k = attn.key(h).view(2, 6, 4, 8).transpose(1, 2)
    assert torch.allclose(scores[1], q @ k.transpose(2, 3) / 8**0.5, atol=1e-5)
    for layer in (1, 3):
        masked = scores[layer].masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        assert torch.allclose(torch.softmax(masked, -1), probs[layer - 1], atol=1e-5)
    assert take_scores(model) == {}  # taken once, then cleared


def test_uncaptured_layers_keep_nothing_and_release_restores_sdpa() -> None:
    model = _model()
    ids, mask = _batch()
    capture_scores(model, layers={2})
    model(ids, attention_mask=mask)
    modules = self_attentions(model)
    assert modules[0].tinyzh_scores is None and modules[1].tinyzh_scores is not None
    release_capture(model)
    assert model.config._attn_implementation == "sdpa" and take_scores(model) == {}


def test_gradients_flow_through_captured_scores() -> None:
    model = _model().train()
    ids, mask = _batch()
    capture_scores(model, layers={1})
    model(ids, attention_mask=mask)
    take_scores(model)[1].pow(2).sum().backward()
    grad = self_attentions(model)[0].query.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_frozen_bf16_layers_take_the_explicit_path_with_sdpa_outputs() -> None:
    from tinyzh.distill.adaptor import _explicit_is_faster

    q = torch.zeros(2, 4, 128, 8, dtype=torch.bfloat16)
    with torch.no_grad():
        assert _explicit_is_faster(q)
        assert not _explicit_is_faster(q.float())  # fp32: sdpa's fused kernel is faster
        assert not _explicit_is_faster(torch.zeros(2, 4, 256, 8, dtype=torch.bfloat16))
    assert not _explicit_is_faster(q)  # gradients on: the student keeps sdpa

    torch.manual_seed(0)
    config = _model().config
    config.initializer_range = 0.5  # peaked attention: a key mask missed would show in the outputs
    model = BertModel(config, add_pooling_layer=False).eval().to(torch.bfloat16)
    ids, mask = _batch()
    with torch.no_grad():
        reference = model(ids, attention_mask=mask).last_hidden_state  # sdpa on every layer
        capture_scores(model, layers={2})  # layers 1 and 3: the explicit path without keeping scores
        out = model(ids, attention_mask=mask).last_hidden_state
    modules = self_attentions(model)
    assert modules[0].tinyzh_scores is None and modules[2].tinyzh_scores is None
    assert sorted(take_scores(model)) == [2]
    real = mask.bool()
    # bf16 rounding moves outputs by up to about 0.07 here; ignoring the padding mask moves them by about 3.
    assert torch.allclose(out[real].float(), reference[real].float(), atol=0.25)
