"""DQN (RL-6, LOSS-24): Q-learning with a neural Q(s, a; θ), experience replay and a target net.

One update cycle: `train_frequency` steps of every environment with the ε-greedy policy (ε from
`start_epsilon` linearly to `end_epsilon` over `exploration_fraction` of the run's environment
steps), each transition stored in the replay buffer (`dlcore.rl.buffer`); then, once the buffer
holds `learning_starts` transitions, one gradient step on a sampled batch of the TD loss

  ½ (Q(s, a; θ) − y)²,   y = r + γ (1 − terminal) max_a' Q(s', a'; θ⁻)

(`double=True`: y = r + γ (1 − terminal) Q(s', argmax_a' Q(s', a'; θ); θ⁻)). The target
parameters θ⁻ are copied from θ every `target_update_every` gradient steps (`tau` = 1), or moved
by Polyak averaging θ⁻ ← τ θ + (1 − τ) θ⁻ at that period (`tau` < 1). The target network keeps
the regression target fixed for a while, so that the network does not chase its own moving
estimate (concept question 002 §11.1.5).

`huber_delta` > 0 uses the Huber loss of the Nature DQN instead of the squared error (cleanrl's
default, kept here). Measured on CartPole with cleanrl's other settings: the squared error
reaches 500; Huber (δ = 1) with gradient clipping at 10 let the Q-values overestimate without
bound (mean Q 10⁷ after 500k steps; the true values are below 100), because a bounded gradient
corrects large errors too slowly to keep up with the max in the target.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore import losses
from dlcore.metrics import Average
from dlcore.rl import buffer as replay
from dlcore.rl import optim, policies, rollout
from dlcore.rl.algorithm import ALGORITHMS, Algorithm
from dlcore.train.state import Part

DEFAULTS = dict(learning_rate=2.5e-4, gamma=0.99, buffer_size=10_000, batch_size=128,
                learning_starts=10_000, train_frequency=10, target_update_every=50, tau=1.0,
                start_epsilon=1.0, end_epsilon=0.05, exploration_fraction=0.5, double=False,
                huber_delta=0.0, max_grad_norm=0.0, optimizer="adam", eps=1e-8,
                rms_decay=0.99)


@ALGORITHMS.register("dqn")
def make_dqn(cfg: dict, env, network, num_updates: int) -> Algorithm:
  """DQN (module docstring); `cfg` keys: DEFAULTS."""
  N, K = env.num_envs, int(cfg["train_frequency"])
  tx = optim.make_tx(cfg["optimizer"], float(cfg["max_grad_norm"]), float(cfg["eps"]),
                     float(cfg["rms_decay"]))
  q_fn = lambda params, obs: network.apply({"params": params}, obs)
  epsilon = policies.linear_epsilon(cfg["start_epsilon"], cfg["end_epsilon"],
                                    int(cfg["exploration_fraction"] * cfg["total_timesteps"]))
  delta = None if cfg["huber_delta"] is None or cfg["huber_delta"] <= 0 else cfg["huber_delta"]

  def init(key, hparams):
    net_key, env_key = jax.random.split(key)
    obs, env_state = env.reset(env_key)
    params = network.init(net_key, obs)["params"]
    buf = replay.init(int(cfg["buffer_size"]), env.obs_shape, env.obs_dtype)
    return Part.create(params, tx), {"env_state": env_state, "obs": obs, "buffer": buf,
                                     "target_params": params, "env_steps": jnp.zeros((), jnp.int32),
                                     "grad_steps": jnp.zeros((), jnp.int32)}

  def act_and_store(carry, k, params):
    act_key, env_key = jax.random.split(k)
    eps = epsilon(carry["env_steps"])
    action = policies.epsilon_greedy(act_key, q_fn(params, carry["obs"]), eps)
    next_obs, env_state, reward, terminated, truncated, info = env.step(env_key,
                                                                        carry["env_state"], action)
    buf = replay.add(carry["buffer"], carry["obs"], action, reward, info["final_observation"],
                     terminated)
    carry = dict(carry, env_state=env_state, obs=next_obs, buffer=buf,
                 env_steps=carry["env_steps"] + N)
    return carry, (info["episode_done"], info["episode_return"], info["episode_length"], eps)

  def loss_fn(params, target_params, batch, gamma):
    q = q_fn(params, batch["obs"])
    next_target = q_fn(target_params, batch["next_obs"])
    next_online = q_fn(params, batch["next_obs"]) if cfg["double"] else None
    td = losses.td_loss(q, batch["action"], batch["reward"], next_target, batch["terminated"],
                        gamma=gamma, delta=delta, next_q_online=next_online)
    q_sa = jnp.take_along_axis(q, batch["action"][:, None], -1)[:, 0]
    return td.mean(), {"loss": td.mean(), "q_value": q_sa.mean()}

  def update(part, carry, key, hparams):
    roll_key, sample_key = jax.random.split(key)
    carry, (done, ret, length, eps) = jax.lax.scan(
        lambda c, k: act_and_store(c, k, part.params), carry, jax.random.split(roll_key, K))
    batch = replay.sample(carry["buffer"], sample_key, int(cfg["batch_size"]))
    grads, stats = jax.grad(loss_fn, has_aux=True)(part.params, carry["target_params"], batch,
                                                   hparams["gamma"])
    learned = optim.apply_gradients(part, grads, hparams["learning_rate"])
    learning = carry["buffer"].size >= int(cfg["learning_starts"])
    part = jax.tree.map(lambda new, old: jnp.where(learning, new, old), learned, part)
    grad_steps = carry["grad_steps"] + learning.astype(jnp.int32)
    sync = learning & (grad_steps % int(cfg["target_update_every"]) == 0)
    tau = float(cfg["tau"])
    target = jax.tree.map(lambda t, p: jnp.where(sync, tau * p + (1.0 - tau) * t, t),
                          carry["target_params"], part.params)
    carry = dict(carry, target_params=target, grad_steps=grad_steps)
    w = learning.astype(jnp.float32)
    metrics = {k: Average(v * w, w) for k, v in stats.items()}
    metrics.update(rollout.episode_metrics(done, ret, length))
    metrics["epsilon"] = Average.from_values(eps)
    return part, carry, metrics

  act = lambda params, obs: policies.greedy(q_fn(params, obs))
  return Algorithm(name="dqn", init=init, update=update, act=act, env_steps_per_update=K * N,
                   hparams={"learning_rate": float(cfg["learning_rate"]),
                            "gamma": float(cfg["gamma"])})
