"""The official PyTorch formulations, written independently of ccl (docs/losses.md)."""
import torch
import torch.nn.functional as F


def multiclass_nce(f, g, labels, tau):
    """The official code's multi-class NCE: p = softmax(cos/τ), positives share the label."""
    logits = F.normalize(f, dim=1) @ F.normalize(g, dim=1).t() / tau
    p = torch.softmax(logits, dim=1)
    pos = (labels[:, None] == labels[None, :]).to(f.dtype)
    neg = 1 - pos
    pos_term = -(pos * torch.log(p)).sum(1) / pos.sum(1)
    neg_term = -(neg * torch.log1p(-p)).sum(1) / neg.sum(1)
    return (pos_term + neg_term).mean()


def instance_nce(f, g, tau):
    """Instance NCE: cross-entropy of cos(f_i, g_·)/τ against the diagonal."""
    logits = F.normalize(f, dim=1) @ F.normalize(g, dim=1).t() / tau
    return F.cross_entropy(logits, torch.arange(f.shape[0]))


def symmetric_kl_official(z1, z2, weight):
    """The official JSDLoss: w·(1/B) Σ [p log(p/q + ε) + q log(q/p + ε)], ε = 1e-10."""
    p, q = torch.softmax(z1, dim=1), torch.softmax(z2, dim=1)
    eps = 1e-10
    return weight * (p * torch.log(p / q + eps) + q * torch.log(q / p + eps)).sum(1).mean()


def hinton_kd(student, teacher, temperature):
    """T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batch mean."""
    return temperature ** 2 * F.kl_div(F.log_softmax(student / temperature, dim=1),
                                       F.softmax(teacher / temperature, dim=1),
                                       reduction="batchmean")


def residual(teacher, student, w1, b1, w2, b2, normalize=True):
    """The official CompositionClassifier: x_tv = x_t + W_1 [x̂_t ; x̂_v] + b_1,
    z_tv = W_2 x_tv + b_2."""
    if normalize:
        t, s = F.normalize(teacher, dim=1), F.normalize(student, dim=1)
    else:
        t, s = teacher, student
    composed = teacher + F.linear(torch.cat([t, s], dim=1), w1, b1)
    return composed, F.linear(composed, w2, b2)
