"""Networks of RL agents (RL-6..9): a Q-network and an actor-critic, over an MLP or a CNN torso.

Torsos (`torso`):
- 'mlp': Dense layers of `features` with `activation` (vector observations: CartPole, Acrobot).
- 'minatar': Conv 16 3x3 stride 1 + ReLU, then the Dense layers (MinAtar's 10x10xC grids).
- 'ram': the Dense layers over uint8 bytes scaled to [0, 1] (Atari RAM observations).
- 'nature': the DQN Atari network (Mnih et al. 2015): Conv 32 8x8/4, 64 4x4/2, 64 3x3/1, ReLU,
  Dense 512 (84x84x4 uint8 frames, scaled to [0, 1]).

`initialization='orthogonal'` (the default): weights orthogonally initialised (scale √2 for
hidden layers; as in cleanrl and purejaxrl), the policy head with scale 0.01 (a near-uniform
initial policy), the value head with 1, biases 0. `initialization='lecun'`: Flax's default
LeCun-normal weights for every layer and biases uniform in [0, 0.05), as gymnax-blines' PPO
networks.

`QNetwork(obs) -> Q(s, ·)` [B, A]. `ActorCritic(obs) -> (logits [B, A], V(s) [B])`: the actor
(policy π(a|s) = softmax(logits)) and the critic (V); with `shared=False` ('mlp' and 'ram')
each has its own torso, as in purejaxrl; a CNN torso is always shared.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.nn import get_activation

TORSOS = ("mlp", "minatar", "nature", "ram")
INITS = ("orthogonal", "lecun")


def _inits(init: str, scale: float) -> dict:
  if init == "lecun":
    return dict(kernel_init=nn.initializers.lecun_normal(),
                bias_init=nn.initializers.uniform(0.05))
  return dict(kernel_init=nn.initializers.orthogonal(scale), bias_init=nn.initializers.zeros)


def _dense(features: int, scale: float = math.sqrt(2.0), name: str | None = None,
           init: str = "orthogonal") -> nn.Dense:
  return nn.Dense(features, name=name, **_inits(init, scale))


def _conv(features: int, kernel: int, stride: int, name: str, init: str = "orthogonal") -> nn.Conv:
  return nn.Conv(features, (kernel, kernel), (stride, stride), padding="VALID", name=name,
                 **_inits(init, math.sqrt(2.0)))


class Torso(nn.Module):
  """obs [B, ...] -> features [B, d] (module docstring)."""
  kind: str = "mlp"
  features: Sequence[int] = (64, 64)
  activation: str = "tanh"
  initialization: str = "orthogonal"

  @nn.compact
  def __call__(self, obs):
    x = obs.astype(jnp.float32)
    if self.kind == "nature":
      x = x / 255.0
      for i, (f, k, s) in enumerate(((32, 8, 4), (64, 4, 2), (64, 3, 1))):
        x = nn.relu(_conv(f, k, s, f"conv_{i}", self.initialization)(x))
      x = x.reshape(x.shape[0], -1)
      return nn.relu(_dense(512, name="dense", init=self.initialization)(x))
    if self.kind == "minatar":
      x = nn.relu(_conv(16, 3, 1, "conv_0", self.initialization)(x))
    if self.kind == "ram":
      x = x / 255.0
    x = x.reshape(x.shape[0], -1)
    act = get_activation(self.activation)
    for i, f in enumerate(self.features):
      x = act(_dense(f, name=f"dense_{i}", init=self.initialization)(x))
    return x


def check_torso(cls, fields) -> None:
  """ConfigError for an unknown `model.torso` or `model.initialization` (`check_fields`,
  called by `build_model`)."""
  if fields.get("torso", "mlp") not in TORSOS:
    raise ConfigError(f"model.torso={fields['torso']!r}; valid torsos: {', '.join(TORSOS)}.")
  if fields.get("initialization", "orthogonal") not in INITS:
    raise ConfigError(f"model.initialization={fields['initialization']!r}; valid: "
                      f"{', '.join(INITS)}.")


@MODELS.register("q_network")
class QNetwork(nn.Module):
  """Q(s, ·; θ) for DQN (RL-6): a torso, then Dense(num_actions)."""
  num_outputs: int
  features: Sequence[int] = (120, 84)
  activation: str = "relu"
  torso: str = "mlp"
  initialization: str = "orthogonal"

  check_fields = classmethod(check_torso)

  @nn.compact
  def __call__(self, obs):
    h = Torso(self.torso, self.features, self.activation, self.initialization, name="torso")(obs)
    return _dense(self.num_outputs, 1.0, name="q", init=self.initialization)(h)


@MODELS.register("actor_critic")
class ActorCritic(nn.Module):
  """(logits of π(·|s), V(s)) for REINFORCE, A2C and PPO (RL-7, RL-8, RL-9)."""
  num_outputs: int
  features: Sequence[int] = (64, 64)
  activation: str = "tanh"
  torso: str = "mlp"
  shared: bool = False
  initialization: str = "orthogonal"

  check_fields = classmethod(check_torso)

  @nn.compact
  def __call__(self, obs):
    shared = self.shared or self.torso not in ("mlp", "ram")
    torso = lambda name: Torso(self.torso, self.features, self.activation, self.initialization,
                               name=name)
    h = torso("torso" if shared else "actor")(obs)
    g = h if shared else torso("critic")(obs)
    logits = _dense(self.num_outputs, 0.01, name="policy", init=self.initialization)(h)
    value = _dense(1, 1.0, name="value", init=self.initialization)(g)[..., 0]
    return logits, value
