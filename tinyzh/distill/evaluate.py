"""Dev-set accuracy of a sequence-classification student, for keeping the best checkpoint."""

from __future__ import annotations

import torch
from torch import nn

from tinyzh.distill.adaptor import take_scores


@torch.no_grad()
def dev_accuracy(model: nn.Module, features: dict[str, torch.Tensor], device: torch.device, batch_size: int) -> float:
    """Fraction of dev rows whose argmax logit equals the label; ``features`` from ``encode_examples``."""
    was_training = model.training
    model.eval()
    correct, n = 0, int(features["labels"].numel())
    keys = ("input_ids", "token_type_ids", "attention_mask")
    for start in range(0, n, batch_size):
        inputs = {k: features[k][start:start + batch_size].to(device) for k in keys if k in features}
        logits = model(**inputs).logits  # (b, C)
        labels = features["labels"][start:start + batch_size].to(device)
        correct += int((logits.argmax(-1) == labels).sum())
    take_scores(model)  # drop any captured scores
    model.train(was_training)
    return correct / max(n, 1)
