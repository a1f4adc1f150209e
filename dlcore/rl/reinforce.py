"""REINFORCE (RL-7, LOSS-23): the Monte-Carlo policy gradient over whole episodes.

  ∇_θ J(θ) = E_τ [ Σ_t ∇_θ log π_θ(a_t|s_t) · R_t ],   R_t = Σ_{k=t}^T γ^{k−t} r_k   (RL-5)

One update cycle plays one whole episode in each of the `num_envs` environments, from a fresh
reset, for at most the environment's episode limit: steps after an environment's first episode
ended are masked out. R_t is the return-to-go of each step (`returns.discounted_returns`, no
bootstrap). With `baseline=True` a learned V(s_t) (the network's value head, trained by
½ (V − R_t)²) is subtracted, A_t = R_t − V(s_t): the same expected gradient with less variance.
`normalize_returns` standardises the weights over the batch. One gradient step per cycle.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore import losses
from dlcore.metrics import Average
from dlcore.rl import optim, returns, rollout
from dlcore.rl.algorithm import ALGORITHMS, Algorithm
from dlcore.rl.policies import greedy, sample
from dlcore.train.state import Part

DEFAULTS = dict(learning_rate=1e-3, gamma=0.99, baseline=True, normalize_returns=True,
                vf_coef=0.5, max_grad_norm=0.0, optimizer="adam", eps=1e-8, rms_decay=0.99,
                episode_steps=0)


@ALGORITHMS.register("reinforce")
def make_reinforce(cfg: dict, env, network, num_updates: int) -> Algorithm:
  """REINFORCE (module docstring); `cfg` keys: DEFAULTS (`episode_steps` 0: the environment's
  episode limit)."""
  T = int(cfg["episode_steps"]) or env.max_episode_steps
  tx = optim.make_tx(cfg["optimizer"], float(cfg["max_grad_norm"]), float(cfg["eps"]),
                     float(cfg["rms_decay"]))
  apply = lambda params, obs: network.apply({"params": params}, obs)

  def init(key, hparams):
    obs, _ = env.reset(key)
    return Part.create(network.init(key, obs)["params"], tx), {}

  def loss_fn(params, traj, ret, alive):
    logits, value = jax.vmap(apply, in_axes=(None, 0))(params, traj.obs)
    weight = ret - value if cfg["baseline"] else ret
    weight = jax.lax.stop_gradient(weight)
    if cfg["normalize_returns"]:
      n = alive.sum()
      mean = (weight * alive).sum() / n
      std = jnp.sqrt((((weight - mean) * alive)**2).sum() / n)
      weight = (weight - mean) / (std + 1e-8)
    pg = losses.policy_gradient_loss(logits.reshape(-1, logits.shape[-1]),
                                     traj.action.reshape(-1), weight.reshape(-1))
    n = alive.sum()
    pg = (pg * alive.reshape(-1)).sum() / n
    vf = (losses.value_loss(value, ret) * alive).sum() / n
    loss = pg + (cfg["vf_coef"] * vf if cfg["baseline"] else 0.0)
    return loss, {"loss": loss, "policy_loss": pg, "value_loss": vf}

  def update(part, carry, key, hparams):
    reset_key, roll_key = jax.random.split(key)
    obs, env_state = env.reset(reset_key)
    _, traj = rollout.collect(env, apply, part.params, env_state, obs, roll_key, T)
    done = traj.done.astype(jnp.float32)
    alive = jnp.cumprod(1.0 - done, axis=0)  # 1 up to and including each first episode's end
    alive = jnp.concatenate([jnp.ones_like(alive[:1]), alive[:-1]], axis=0)
    ret = returns.discounted_returns(traj.reward, traj.done, hparams["gamma"])
    grads, stats = jax.grad(loss_fn, has_aux=True)(part.params, traj, ret, alive)
    part = optim.apply_gradients(part, grads, hparams["learning_rate"])
    metrics = {k: Average.from_values(v) for k, v in stats.items()}
    metrics.update(rollout.episode_metrics(traj.episode_done, traj.episode_return,
                                           traj.episode_length, mask=alive))
    return part, carry, metrics

  act = lambda params, obs: greedy(apply(params, obs)[0])
  sample_act = lambda params, obs, key: sample(key, apply(params, obs)[0])
  return Algorithm(name="reinforce", init=init, update=update, act=act,
                   env_steps_per_update=T * env.num_envs,
                   hparams={"learning_rate": float(cfg["learning_rate"]),
                            "gamma": float(cfg["gamma"])}, sample_act=sample_act)
