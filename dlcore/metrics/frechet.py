"""Sample-quality formulas on classifier outputs (host-side NumPy; used by
`dlcore.evals.sample_quality` for GAN / diffusion samples, ARC-33, ARC-34, GEN-7).

Fréchet distance between the Gaussians N(μ₁, Σ₁), N(μ₂, Σ₂) fitted to two sets of features
(Heusel et al. 2017, FID):

  d² = ||μ₁ - μ₂||² + tr(Σ₁ + Σ₂ - 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})

The matrix square root is taken by eigen-decompositions of symmetric PSD matrices (exact for
them; tr((Σ₁Σ₂)^{1/2}) = tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})), so no complex parts appear.

Inception-style score (Salimans et al. 2016) of class probabilities p(y|x) of N samples:

  IS = exp( (1/N) Σᵢ KL(p(y|xᵢ) || p(y)) ),   p(y) = (1/N) Σᵢ p(y|xᵢ)

(1 for one constant prediction, the number of classes K for confident, balanced predictions).

Confident share: the fraction of samples whose largest class probability exceeds a threshold
(0.9): max_y p(y|xᵢ) > t.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
  """(μ, Σ) of features [N, d] in float64: the mean and the unbiased covariance (N - 1)."""
  x = np.asarray(features, np.float64)
  if x.ndim != 2 or x.shape[0] < 2:
    raise ValueError(f"gaussian_stats needs features [N >= 2, d], got shape {x.shape}.")
  return x.mean(axis=0), np.cov(x, rowvar=False)


def psd_sqrt(matrix: Any) -> np.ndarray:
  """The symmetric square root of a symmetric PSD matrix (eigenvalues clipped at 0)."""
  m = np.asarray(matrix, np.float64)
  w, v = np.linalg.eigh((m + m.T) / 2)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
  """d² between N(μ₁, Σ₁) and N(μ₂, Σ₂) (module docstring)."""
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  root1 = psd_sqrt(s1)
  cross = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0.0, None)).sum()
  return float(((mu1 - mu2)**2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * cross)


def feature_frechet_distance(features1: Any, features2: Any) -> float:
  """The Fréchet distance between Gaussians fitted to two feature sets [N, d] and [M, d]."""
  return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


def inception_score(probs: Any, eps: float = 1e-12) -> float:
  """exp(E_x KL(p(y|x) || p(y))) of class probabilities [N, K] (module docstring)."""
  p = np.asarray(probs, np.float64)
  marginal = p.mean(axis=0, keepdims=True)
  kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(axis=1)
  return float(np.exp(kl.mean()))


def confident_share(probs: Any, threshold: float = 0.9) -> float:
  """The fraction of rows of [N, K] class probabilities with max_y p(y|x) > threshold."""
  return float((np.asarray(probs).max(axis=1) > threshold).mean())
