"""Losses of the four methods, written from their official code (see docs/architecture.md)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def same_class_targets(labels: torch.Tensor, sharpness: float = 10.0) -> torch.Tensor:
    """ActionCLIP/EZ-CLIP soft targets: softmax over ``sharpness * [y_i == y_j]`` per row,
    i.e. (almost) uniform over the batch items of the same class."""
    same = (labels[:, None] == labels[None, :]).float()
    return F.softmax(sharpness * same, dim=1)


def symmetric_kl_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean of the video->text and text->video losses on a ``B x B`` logit matrix whose column j is
    the text of sample j. Each direction is the official ``KLDivLoss(reduction='mean') * B``: on a
    ``B x B`` matrix that is the batch mean of KL(target_i || softmax(logits_i)), which ``batchmean``
    computes directly (and without torch's warning about ``mean``)."""
    targets = same_class_targets(labels)

    def kl(rows: torch.Tensor) -> torch.Tensor:
        return F.kl_div(F.log_softmax(rows, dim=1), targets, reduction="batchmean")

    return (kl(logits) + kl(logits.t())) / 2


def motion_loss(frame_embeddings: torch.Tensor) -> torch.Tensor:
    """EZ-CLIP's motion loss ``1 / (C + V + 1)`` on unnormalised frame embeddings ``(B, T, D)``.

    C: mean absolute central difference over time, one-sided (and halved like the rest) at the ends;
    V: temporal variance (unbiased), averaged over videos and channels.
    """
    e = frame_embeddings
    left = torch.cat([e[:, :1], e[:, :-1]], dim=1)
    right = torch.cat([e[:, 1:], e[:, -1:]], dim=1)
    central = ((right - left).abs() / 2).mean()
    variance = e.var(dim=1, unbiased=True).mean()
    return 1.0 / (central + variance + 1.0)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy against hard labels ``(B,)`` or mixed soft targets ``(B, K)`` (mixup/cutmix)."""
    if targets.ndim == 1:
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    if label_smoothing:
        targets = targets * (1 - label_smoothing) + label_smoothing / logits.shape[1]
    return torch.sum(-targets * F.log_softmax(logits, dim=1), dim=1).mean()
