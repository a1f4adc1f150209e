"""The registered optimizers (curriculum §6a OPT-1..9). Each factory: (lr_or_schedule, opt_cfg).

Keys (all optional): momentum (0.9), b1 (0.9), b2 (0.999), eps (1e-8), weight_decay (1e-4),
decay (0.9, RMSProp), eps_in_sqrt (False, RMSProp), initial_accumulator_value (0.0, AdaGrad).
"""

from __future__ import annotations

import optax

from dlcore.optim.adagrad import adagrad
from dlcore.optim.config import cfg_get
from dlcore.optim.ema_momentum import ema_momentum
from dlcore.optim.l2 import decay_mask
from dlcore.optim.registries import OPTIMIZERS


@OPTIMIZERS.register("sgd")
def _sgd(lr, cfg) -> optax.GradientTransformation:
  """OPT-1..4 gradient descent θ ← θ − α g.

  Full-batch GD (OPT-2), SGD (OPT-3) and mini-batch GD (OPT-4) are this same optimizer: g is the
  mean gradient over whatever batch the loader yields, so the choice is `config.train.batch_size`
  (= number of training examples for full batch, 1 for SGD, e.g. 32..256 for mini-batch).
  """
  return optax.sgd(lr)


@OPTIMIZERS.register("ema_momentum")
def _ema_momentum(lr, cfg) -> optax.GradientTransformation:
  """OPT-5 EMA momentum (the seeds' default, §0 item 1): v ← βv + (1−β)g, θ ← θ − αv."""
  return ema_momentum(lr, beta=cfg_get(cfg, "momentum", 0.9))


@OPTIMIZERS.register("momentum")
def _momentum(lr, cfg) -> optax.GradientTransformation:
  """OPT-6 classical (heavy-ball) momentum, 004 §3.3.1: v ← βv − α∇J, θ ← θ + v.

  Implemented as `optax.sgd(α, momentum=β)`: u ← βu + g, θ ← θ − αu. With a constant α,
  v = −αu at every step, so the two are the same iterates (tested); under a schedule optax
  applies α_t to the accumulated u rather than inside v.
  """
  return optax.sgd(lr, momentum=cfg_get(cfg, "momentum", 0.9))


@OPTIMIZERS.register("nesterov")
def _nesterov(lr, cfg) -> optax.GradientTransformation:
  """Nesterov momentum (Sutskever form as in optax): u ← βu + g, θ ← θ − α(g + βu)."""
  return optax.sgd(lr, momentum=cfg_get(cfg, "momentum", 0.9), nesterov=True)


@OPTIMIZERS.register("adam")
def _adam(lr, cfg) -> optax.GradientTransformation:
  """OPT-7 Adam: m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ);
  θ ← θ − α m̂/(√v̂ + ε), β₁ = 0.9, β₂ = 0.999, ε = 1e-8 outside the root (§0 item 16)."""
  return optax.adam(lr, b1=cfg_get(cfg, "b1", 0.9), b2=cfg_get(cfg, "b2", 0.999),
                    eps=cfg_get(cfg, "eps", 1e-8), eps_root=0.0)


@OPTIMIZERS.register("adamw")
def _adamw(lr, cfg) -> optax.GradientTransformation:
  """AdamW (decoupled weight decay, REG-1 contrast): θ ← θ − α(m̂/(√v̂ + ε) + λθ).

  λ = `weight_decay` (1e-4) is not added to the gradient, so it bypasses m and v (unlike
  `l2_coupled`). Biases/1-D params are skipped unless `weight_decay_mask='all'`.
  """
  return optax.adamw(lr, b1=cfg_get(cfg, "b1", 0.9), b2=cfg_get(cfg, "b2", 0.999),
                     eps=cfg_get(cfg, "eps", 1e-8), eps_root=0.0,
                     weight_decay=cfg_get(cfg, "weight_decay", 1e-4),
                     mask=decay_mask(cfg_get(cfg, "weight_decay_mask", "no_bias")))


@OPTIMIZERS.register("rmsprop")
def _rmsprop(lr, cfg) -> optax.GradientTransformation:
  """OPT-9 RMSProp: s = ρs + (1−ρ)g²; θ ← θ − α g/(√s + ε), ρ = `decay` = 0.9, s₀ = 0.

  ε is outside the root by default, like Adam (§0 item 16) and PyTorch; optax's own default is
  inside (g/√(s + ε)), selectable with `eps_in_sqrt=True`.
  """
  return optax.rmsprop(lr, decay=cfg_get(cfg, "decay", 0.9), eps=cfg_get(cfg, "eps", 1e-8),
                       eps_in_sqrt=bool(cfg_get(cfg, "eps_in_sqrt", False)))


@OPTIMIZERS.register("adagrad")
def _adagrad(lr, cfg) -> optax.GradientTransformation:
  """OPT-8 canonical AdaGrad: G += g²; θ −= η g/(√G + ε), G₀ = 0 (not `optax.adagrad`)."""
  return adagrad(lr, eps=cfg_get(cfg, "eps", 1e-8),
                 initial_accumulator_value=cfg_get(cfg, "initial_accumulator_value", 0.0))
