"""Advantage actor-critic (A2C, RL-8) and PPO (RL-9, LOSS-27), sharing rollouts and losses.

One update cycle: act for `num_steps` steps in each of the `num_envs` environments with the
current policy (`rollout.collect`), compute advantages with GAE (`returns.gae`; λ = 1 is the
n-step advantage A = R^(n) − V ≈ Q − V), then learn:

- A2C: one gradient step on the whole rollout, loss
  −log π(a_t|s_t) A_t  +  c_v · ½ (V(s_t) − R_t)²  −  c_e · H(π(·|s_t))   (LOSS-23 with A = Q − V);
- PPO: `update_epochs` passes over the rollout in `num_minibatches` shuffled minibatches, with
  the clipped surrogate −min(ρ A, clip(ρ, 1 ± ε) A) in place of the policy-gradient term, and
  optionally the clipped value loss (`clip_value`).

Time limits are not terminal: a truncated episode's last reward gets γ V(s_final)
(`bootstrap_truncated`). The learning rate decays linearly to 0 when `anneal_lr`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore import losses
from dlcore.errors import ConfigError
from dlcore.metrics import Average
from dlcore.rl import optim, policies, returns, rollout
from dlcore.rl.algorithm import ALGORITHMS, Algorithm
from dlcore.train.state import Part

A2C_DEFAULTS = dict(learning_rate=7e-4, gamma=0.99, num_steps=5, gae_lambda=1.0, ent_coef=0.0,
                    vf_coef=0.5, max_grad_norm=0.5, optimizer="rmsprop", eps=1e-5,
                    rms_decay=0.99, anneal_lr=False, normalize_advantages=False,
                    bootstrap_truncated=True)
PPO_DEFAULTS = dict(A2C_DEFAULTS, learning_rate=2.5e-4, num_steps=128, gae_lambda=0.95,
                    ent_coef=0.01, optimizer="adam", anneal_lr=True, normalize_advantages=True,
                    update_epochs=4, num_minibatches=4, clip_eps=0.2, clip_value=False)


def _flatten(tree):
  return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), tree)


def _make(name: str, cfg: dict, env, network, num_updates: int, ppo: bool) -> Algorithm:
  T, N = int(cfg["num_steps"]), env.num_envs
  epochs = int(cfg["update_epochs"]) if ppo else 1
  minibatches = int(cfg["num_minibatches"]) if ppo else 1
  tx = optim.make_tx(cfg["optimizer"], float(cfg["max_grad_norm"]), float(cfg["eps"]),
                     float(cfg["rms_decay"]))
  apply = lambda params, obs: network.apply({"params": params}, obs)

  def init(key, hparams):
    net_key, env_key = jax.random.split(key)
    obs, env_state = env.reset(env_key)
    params = network.init(net_key, obs)["params"]
    return Part.create(params, tx), {"env_state": env_state, "obs": obs,
                                     "updates": jnp.zeros((), jnp.int32)}

  def loss_fn(params, batch):
    logits, value = apply(params, batch["obs"])
    logp = policies.log_prob(logits, batch["action"])
    adv = batch["advantage"]
    if cfg["normalize_advantages"]:
      adv = returns.normalize(adv)
    if ppo:
      pg = losses.ppo_clip_loss(logp, batch["log_prob"], adv, clip_eps=cfg["clip_eps"])
    else:
      pg = -logp * jax.lax.stop_gradient(adv)
    clip = cfg["clip_eps"] if ppo and cfg["clip_value"] else None
    vf = losses.value_loss(value, batch["target"], old_values=batch["value"], clip_eps=clip)
    ent = policies.entropy(logits)
    loss = pg.mean() + cfg["vf_coef"] * vf.mean() - cfg["ent_coef"] * ent.mean()
    log_ratio = logp - batch["log_prob"]
    stats = {"loss": loss, "policy_loss": pg.mean(), "value_loss": vf.mean(),
             "entropy": ent.mean(), "approx_kl": ((jnp.exp(log_ratio) - 1) - log_ratio).mean()}
    if ppo:
      stats["clip_fraction"] = (jnp.abs(jnp.exp(log_ratio) - 1) > cfg["clip_eps"]).mean()
    return loss, stats

  def learn(part, data, key, lr):
    size = T * N

    def epoch(part, k):
      perm = jax.random.permutation(k, size)
      shuffled = jax.tree.map(lambda x: x[perm].reshape((minibatches, -1) + x.shape[1:]), data)

      def minibatch(part, mb):
        grads, stats = jax.grad(loss_fn, has_aux=True)(part.params, mb)
        return optim.apply_gradients(part, grads, lr), stats

      return jax.lax.scan(minibatch, part, shuffled)

    part, stats = jax.lax.scan(epoch, part, jax.random.split(key, epochs))
    return part, {k: Average.from_values(v) for k, v in stats.items()}

  def update(part, carry, key, hparams):
    roll_key, learn_key = jax.random.split(key)
    gamma = hparams["gamma"]
    (env_state, obs), traj = rollout.collect(env, apply, part.params, carry["env_state"],
                                             carry["obs"], roll_key, T)
    rewards = traj.reward
    if cfg["bootstrap_truncated"]:
      _, final_values = apply(part.params, traj.final_obs.reshape((T * N,) + env.obs_shape))
      rewards = returns.bootstrap_truncated(rewards, traj.terminated, traj.truncated,
                                            final_values.reshape(T, N), gamma)
    _, last_value = apply(part.params, obs)
    adv, target = returns.gae(rewards, traj.value, traj.done, last_value, gamma,
                              cfg["gae_lambda"])
    data = _flatten({"obs": traj.obs, "action": traj.action, "log_prob": traj.log_prob,
                     "value": traj.value, "advantage": adv, "target": target})
    lr = optim.annealed(hparams["learning_rate"], carry["updates"], num_updates,
                        cfg["anneal_lr"])
    part, metrics = learn(part, data, learn_key, lr)
    metrics.update(rollout.episode_metrics(traj.episode_done, traj.episode_return,
                                           traj.episode_length))
    metrics["learning_rate"] = Average(jnp.asarray(lr, jnp.float32), jnp.float32(1))
    carry = {"env_state": env_state, "obs": obs, "updates": carry["updates"] + 1}
    return part, carry, metrics

  act = lambda params, obs: policies.greedy(apply(params, obs)[0])
  sample_act = lambda params, obs, key: policies.sample(key, apply(params, obs)[0])
  return Algorithm(name=name, init=init, update=update, act=act, env_steps_per_update=T * N,
                   hparams={"learning_rate": float(cfg["learning_rate"]),
                            "gamma": float(cfg["gamma"])}, sample_act=sample_act)


@ALGORITHMS.register("a2c")
def make_a2c(cfg: dict, env, network, num_updates: int) -> Algorithm:
  """A2C (module docstring); `cfg` keys: A2C_DEFAULTS."""
  return _make("a2c", cfg, env, network, num_updates, ppo=False)


@ALGORITHMS.register("ppo")
def make_ppo(cfg: dict, env, network, num_updates: int) -> Algorithm:
  """PPO (module docstring); `cfg` keys: PPO_DEFAULTS."""
  if (int(cfg["num_steps"]) * env.num_envs) % int(cfg["num_minibatches"]):
    raise ConfigError(f"rl.num_steps x env.num_envs = {int(cfg['num_steps']) * env.num_envs} "
                      f"is not divisible by rl.num_minibatches={cfg['num_minibatches']}.")
  return _make("ppo", cfg, env, network, num_updates, ppo=True)


DEFAULTS = {"a2c": A2C_DEFAULTS, "ppo": PPO_DEFAULTS}
