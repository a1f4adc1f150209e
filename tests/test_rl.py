"""Deep RL: returns/GAE and the losses against step-by-step NumPy, the replay buffer, policies,
environments by name, and the algorithms on the shared loop (learning, resume, sweeps, errors)."""

from __future__ import annotations

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configs.defaults import D
from configs.defaults import rl as rl_default
from dlcore import losses
from dlcore.errors import ConfigError, DataError
from dlcore.rl import ALGORITHMS, buffer, make_env, make_train, policies, returns
from dlcore.rl.envs import env_names
from experiments.rl import rl_settings

# ----------------------------------------------------------------------------- references


def np_returns(r, d, gamma, bootstrap):
  out, nxt = np.zeros_like(r), bootstrap
  for t in reversed(range(len(r))):
    nxt = r[t] + gamma * (1 - d[t]) * nxt
    out[t] = nxt
  return out


def np_gae(r, v, d, last_v, gamma, lam):
  adv, nxt_adv = np.zeros_like(r), np.zeros_like(last_v)
  for t in reversed(range(len(r))):
    nxt_v = last_v if t == len(r) - 1 else v[t + 1]
    delta = r[t] + gamma * (1 - d[t]) * nxt_v - v[t]
    nxt_adv = delta + gamma * lam * (1 - d[t]) * nxt_adv
    adv[t] = nxt_adv
  return adv, adv + v


rollouts = st.tuples(st.integers(1, 12), st.integers(1, 3), st.integers(0, 2**31 - 1),
                     st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@settings(max_examples=25, deadline=None)
@given(rollouts)
def test_returns_and_gae_match_numpy(args):
  T, N, seed, gamma, lam = args
  rng = np.random.default_rng(seed)
  r = rng.normal(size=(T, N)).astype(np.float32)
  v = rng.normal(size=(T, N)).astype(np.float32)
  d = (rng.random((T, N)) < 0.3).astype(np.float32)
  last = rng.normal(size=(N,)).astype(np.float32)
  chex.assert_trees_all_close(returns.discounted_returns(r, d, gamma, last),
                              np_returns(r, d, gamma, last), rtol=1e-5, atol=1e-5)
  adv, target = returns.gae(r, v, d, last, gamma, lam)
  ref_adv, ref_target = np_gae(r, v, d, last, gamma, lam)
  chex.assert_trees_all_close((adv, target), (ref_adv, ref_target), rtol=1e-5, atol=1e-5)


def test_gae_with_lambda_one_is_the_n_step_advantage():
  rng = np.random.default_rng(0)
  r, v = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
  d, last = np.zeros((6, 2)), rng.normal(size=2)
  adv, _ = returns.gae(r, v, d, last, 0.9, 1.0)
  chex.assert_trees_all_close(adv, returns.discounted_returns(r, d, 0.9, last) - v, atol=1e-5)


def test_return_to_go_of_one_episode_is_the_discounted_sum():
  r = np.array([1.0, 2.0, 3.0])  # RL-5: R_t = sum_k gamma^(k-t) r_k
  np.testing.assert_allclose(returns.discounted_returns(r, np.zeros(3), 0.5),
                             [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3], rtol=1e-6)


def test_truncation_bootstrap_only_where_truncated_not_terminated():
  out = returns.bootstrap_truncated(jnp.ones(3), jnp.array([0, 1, 1]), jnp.array([1, 1, 0]),
                                    jnp.full(3, 10.0), 0.9)
  np.testing.assert_allclose(out, [10.0, 1.0, 1.0])


def test_ppo_clip_and_value_losses_match_numpy():
  rng = np.random.default_rng(1)
  logp, old, adv = (rng.normal(size=(3, 50)) * 0.3).astype(np.float32)
  ratio = np.exp(logp - old)
  ref = -np.minimum(ratio * adv, np.clip(ratio, 0.8, 1.2) * adv)
  np.testing.assert_allclose(losses.ppo_clip_loss(logp, old, adv, clip_eps=0.2), ref, rtol=1e-5)
  v, old_v, target = rng.normal(size=(3, 50)).astype(np.float32)
  clipped = old_v + np.clip(v - old_v, -0.2, 0.2)
  ref_v = 0.5 * np.maximum((v - target)**2, (clipped - target)**2)
  np.testing.assert_allclose(losses.value_loss(v, target, old_values=old_v, clip_eps=0.2), ref_v,
                             rtol=1e-5)
  np.testing.assert_allclose(losses.value_loss(v, target), 0.5 * (v - target)**2, rtol=1e-5)


def test_double_dqn_target_uses_the_online_argmax():
  q = jnp.zeros((1, 3))
  next_target = jnp.array([[1.0, 5.0, 2.0]])
  next_online = jnp.array([[0.0, 0.0, 9.0]])  # online picks action 2; target scores it 2.0
  plain = losses.td_loss(q, jnp.array([0]), jnp.array([1.0]), next_target, jnp.array([0.0]),
                         gamma=0.5, delta=None)
  double = losses.td_loss(q, jnp.array([0]), jnp.array([1.0]), next_target, jnp.array([0.0]),
                          gamma=0.5, delta=None, next_q_online=next_online)
  np.testing.assert_allclose(plain, [0.5 * (1 + 0.5 * 5)**2])
  np.testing.assert_allclose(double, [0.5 * (1 + 0.5 * 2)**2])


# ----------------------------------------------------------------------------- pieces


def test_replay_buffer_wraps_and_samples_stored_transitions():
  buf = buffer.init(5, (2,), jnp.float32)
  for i in range(3):  # 3 batches of 2 = 6 transitions into 5 slots
    obs = jnp.full((2, 2), 2 * i) + jnp.arange(2)[:, None]
    buf = buffer.add(buf, obs, jnp.arange(2) + 2 * i, jnp.ones(2), obs + 100, jnp.zeros(2, bool))
  assert int(buf.size) == 5 and int(buf.position) == 1
  np.testing.assert_array_equal(buf.action, [5, 1, 2, 3, 4])  # slot 0 overwritten by the 6th
  batch = buffer.sample(buf, jax.random.PRNGKey(0), 64)
  assert set(np.asarray(batch["action"]).tolist()) <= {1, 2, 3, 4, 5}
  np.testing.assert_array_equal(batch["next_obs"][:, 0], batch["obs"][:, 0] + 100)


def test_epsilon_greedy_and_schedule():
  q = jnp.tile(jnp.array([[0.0, 1.0, 0.0, 0.0]]), (4000, 1))
  greedy = policies.epsilon_greedy(jax.random.PRNGKey(0), q, 0.0)
  assert (greedy == 1).all()
  noisy = policies.epsilon_greedy(jax.random.PRNGKey(0), q, 0.4)
  # P(action != argmax) = eps * 3/4 = 0.3
  assert abs(float((noisy != 1).mean()) - 0.3) < 0.03
  eps = policies.linear_epsilon(1.0, 0.05, 100)
  np.testing.assert_allclose([eps(0), eps(50), eps(100), eps(1000)], [1.0, 0.525, 0.05, 0.05],
                             rtol=1e-6)


def test_categorical_log_prob_and_entropy():
  logits = jnp.log(jnp.array([[0.5, 0.25, 0.25]]))
  np.testing.assert_allclose(policies.log_prob(logits, jnp.array([1])), [np.log(0.25)],
                             rtol=1e-6)
  np.testing.assert_allclose(policies.entropy(logits), [-(0.5 * np.log(0.5) + 0.5 * np.log(0.25))],
                             rtol=1e-6)


# ----------------------------------------------------------------------------- environments


def test_actor_critic_initialisations():
  """'orthogonal' (default): orthogonal hidden kernels of scale √2, zero biases, a 0.01-scale
  policy head; 'lecun': LeCun-normal kernels and biases in [0, 0.05) (gymnax-blines)."""
  from dlcore.models import build_model
  obs = jnp.zeros((2, 16))
  params = {}
  for init in ("orthogonal", "lecun"):
    model = build_model(dict(name="actor_critic", features=(32, 32), initialization=init), 3)
    params[init] = model.init(jax.random.key(0), obs)["params"]
  k = np.asarray(params["orthogonal"]["actor"]["dense_1"]["kernel"])
  np.testing.assert_allclose(k.T @ k, 2.0 * np.eye(32), atol=1e-4)
  assert not np.any(np.asarray(params["orthogonal"]["actor"]["dense_0"]["bias"]))
  assert np.abs(np.asarray(params["orthogonal"]["policy"]["kernel"])).max() < 0.05
  lecun = params["lecun"]
  bias = np.asarray(lecun["critic"]["dense_0"]["bias"])
  assert bias.min() >= 0.0 and 0.0 < bias.max() < 0.05
  std = np.asarray(lecun["actor"]["dense_1"]["kernel"]).std()
  assert 0.7 / np.sqrt(32) < std < 1.3 / np.sqrt(32)  # fan-in 32
  with pytest.raises(ConfigError, match="model.initialization"):
    build_model(dict(name="actor_critic", initialization="xavier"), 3)


def test_unknown_environment_lists_the_valid_ones():
  with pytest.raises(ConfigError, match=r"Unknown environment 'CartPole-v9'.*CartPole-v1.*Valid"):
    make_env("CartPole-v9", 2)
  assert "Breakout-MinAtar" in env_names()


def test_gymnax_env_under_jit_and_scan_reports_whole_episodes():
  env = make_env("CartPole-v1", 3)
  obs, state = env.reset(jax.random.PRNGKey(0))
  assert obs.shape == (3, 4) and env.num_actions == 2 and env.max_episode_steps == 500

  @jax.jit
  def run(state, key):
    def step(s, k):
      _, s, r, term, trunc, info = env.step(k, s, jnp.zeros(3, jnp.int32))  # always push left
      return s, (r, info["episode_done"], info["episode_return"], info["episode_length"])
    return jax.lax.scan(step, state, jax.random.split(key, 60))[1]

  r, done, ret, length = jax.device_get(run(state, jax.random.PRNGKey(1)))
  assert done.any(axis=0).all()  # pushing one way ends every episode within 60 steps
  t, i = np.argwhere(done)[0]
  assert ret[t, i] == length[t, i] == r[:t + 1, i].sum()  # CartPole: +1 per step


# ----------------------------------------------------------------------------- algorithms


def tiny_config(algorithm: str, **rl):
  c = rl_default.get_config(algorithm)
  c.env.num_envs = 2
  c.model.features = (16,)
  c.rl.update(rl)
  c.evals = D({"test": D(dict(type="episodes", num_episodes=8, at_end=True))})
  c.train.update(log_every=1, checkpoint_every=2)
  return c


@pytest.fixture(scope="module")
def ppo_learns():
  """PPO for 25k CartPole steps through make_train (the purejaxrl form): returns rise."""
  c = rl_default.get_config("ppo")
  cfg = rl_settings(c)
  env = make_env("CartPole-v1", 4)
  from dlcore.models import build_model
  alg = ALGORITHMS.get("ppo")(cfg, env, build_model(c.model, env.num_actions), 48)
  hp = {k: jnp.float32(v) for k, v in alg.hparams.items()}
  _, _, metrics = jax.jit(make_train(alg, 48))(jax.random.PRNGKey(0), hp)
  r = jax.device_get(metrics["return"])
  return r.total / np.maximum(r.count, 1)


def test_ppo_learns_cartpole(ppo_learns):
  assert ppo_learns[:4].mean() < 40 and ppo_learns[-8:].mean() > 80, ppo_learns


@pytest.mark.parametrize("algorithm,rl", [
    ("dqn", dict(total_timesteps=600, updates_per_step=10, learning_starts=100, batch_size=16,
                 buffer_size=200, target_update_every=3, double=True)),
    ("reinforce", dict(total_timesteps=2000, updates_per_step=1, episode_steps=50)),
    ("a2c", dict(total_timesteps=400, updates_per_step=10)),
])
def test_each_algorithm_trains_on_the_loop(tmp_path, algorithm, rl):
  from dlcore.train import loop
  from experiments.rl import make_task
  c = tiny_config(algorithm, **rl)
  if algorithm == "dqn":
    c.model.features = (16,)
  task = make_task(c)
  state, result = loop.run(task, tmp_path)
  assert result["status"] == "finished"
  assert result["test"]["num_episodes"] == 8 and result["test"]["return_mean"] > 0
  events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert any("return" in e for e in events if e["split"] == "train")


def test_dqn_target_network_syncs_every_period():
  c = tiny_config("dqn", learning_starts=0, batch_size=8, buffer_size=64, target_update_every=3,
                  train_frequency=1)
  cfg = rl_settings(c)
  env = make_env("CartPole-v1", 2)
  from dlcore.models import build_model
  alg = ALGORITHMS.get("dqn")(dict(cfg, total_timesteps=100), env,
                              build_model(c.model, env.num_actions), 10)
  hp = {k: jnp.float32(v) for k, v in alg.hparams.items()}
  part, carry = alg.init(jax.random.PRNGKey(0), hp)
  update = jax.jit(alg.update)
  for i in range(1, 7):
    part, carry, _ = update(part, carry, jax.random.PRNGKey(i), hp)
    same = jax.tree.leaves(jax.tree.map(lambda a, b: bool((a == b).all()), part.params,
                                        carry["target_params"]))
    assert all(same) == (i % 3 == 0), i


KILL_RUN = ["--config", "configs/cartpole_ppo.py", "--config.env.num_envs=2",
            "--config.model.features=(16,)", "--config.rl.total_timesteps=3072",
            "--config.rl.updates_per_step=2", "--config.train.checkpoint_every=2",
            "--config.train.log_every=1", "--config.evals.eval.every=4"]


def test_killed_ppo_run_resumes_to_the_same_result(tmp_path):
  """Acceptance 6: a PPO run killed (SIGKILL) after its checkpoint at step 4 of 12, then run
  again with the same command, ends with bitwise the final test return of a run never killed:
  environments, buffers and keys are all in the checkpointed state."""
  import os
  import signal
  import subprocess
  import sys
  import time

  from conftest import REPO, run_cli
  straight = run_cli("launch.train", *KILL_RUN, "--workdir", str(tmp_path / "straight"))
  assert straight.returncode == 0, straight.stderr[-2000:]
  workdir = tmp_path / "killed"
  env = dict(os.environ, PYTHONPATH=str(REPO))
  proc = subprocess.Popen([sys.executable, "-m", "launch.train", *KILL_RUN, "--workdir",
                           str(workdir)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.time() + 240
    while not (workdir / "checkpoints" / "4").is_dir():
      assert proc.poll() is None, f"run ended before checkpoint 4: {proc.communicate()[1][-2000:]}"
      assert time.time() < deadline, "no checkpoint 4 in time"
      time.sleep(0.01)
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
  resumed = run_cli("launch.train", *KILL_RUN, "--workdir", str(workdir))
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "resumed from checkpoint at step" in resumed.stdout + resumed.stderr
  last = lambda out: json.loads(out.stdout.strip().splitlines()[-1])
  assert last(resumed)["step"] == last(straight)["step"] == 12
  assert last(resumed)["test"] == last(straight)["test"]


def test_sweep_trains_agents_in_one_program_and_plots(tmp_path):
  from dlcore.train import loop
  from experiments.rl import make_task
  c = tiny_config("ppo", total_timesteps=2 * 128 * 2 * 2, updates_per_step=2)
  c.sweep = D(dict(learning_rate=(1e-3, 3e-4), gamma=(0.9, 0.99), seeds=1))
  c.evals.sweep = D(dict(type="sweep", smooth=2, at_end=True))
  task = make_task(c)
  state, result = loop.run(task, tmp_path)
  assert jax.tree.leaves(state.part("agent").params)[0].shape[0] == 4
  assert "return_mean/lr=0.001,gamma=0.9" in result["test"]
  assert (tmp_path / "plots" / "sweep.png").exists()
  final = json.loads((tmp_path / "plots" / "sweep.json").read_text())
  assert sorted(final) == sorted(f"lr={a:g},gamma={g:g}" for a in (1e-3, 3e-4) for g in (0.9, 0.99))


def test_a_diverging_sweep_agent_keeps_its_last_good_state(tmp_path):
  from dlcore.train import loop
  from experiments.rl import make_task
  c = tiny_config("ppo", total_timesteps=2 * 128 * 2 * 2, updates_per_step=2)
  c.sweep = D(dict(learning_rate=(1e-3, 1e30), gamma=(0.99,), seeds=1))
  state, result = loop.run(make_task(c), tmp_path)
  assert result["status"] == "finished" and result["step"] == 2
  params = jax.tree.leaves(state.part("agent").params)
  assert all(bool(jnp.isfinite(p).all()) for p in params)
  train = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  train = [e for e in train if e["split"] == "train"]
  assert train[-1]["diverged_agents"] > 0 and np.isfinite(train[-1]["loss"])
  assert np.isfinite(result["test"]["return_mean/lr=0.001,gamma=0.99"])


def test_episode_evaluator_matches_a_python_loop():
  """The jitted 100-episode evaluator against gymnax stepped one env at a time in Python."""
  import gymnax

  from dlcore.evals.episodes import play_episodes
  env = make_env("CartPole-v1", 5)
  act = lambda params, obs, key: (obs[:, 2] > 0).astype(jnp.int32)  # push toward the lean
  ret, length, finished = jax.jit(play_episodes(env, act, 500))(None, jax.random.PRNGKey(3))
  genv, params = gymnax.make("CartPole-v1")
  reset_key, run_key = jax.random.split(jax.random.PRNGKey(3))
  obs, state = jax.vmap(genv.reset, in_axes=(0, None))(jax.random.split(reset_key, 5), params)
  keys = jax.random.split(run_key, 500)
  expected = []
  for i in range(5):
    o, s, total = obs[i], jax.tree.map(lambda x: x[i], state), 0.0
    for t in range(500):
      k = jax.random.split(keys[t], 5)[i]
      o, s, r, term, trunc, _ = genv.step(k, s, (o[2] > 0).astype(jnp.int32), params)
      total += float(r)
      if bool(term | trunc):
        break
    expected.append(total)
  assert bool(finished.all())
  np.testing.assert_allclose(ret, expected)
  np.testing.assert_allclose(length, expected)


def test_bad_inputs_give_one_clear_error(tmp_path):
  from dlcore.train import loop
  from experiments.rl import make_task
  c = tiny_config("ppo")
  c.env.name = "Pendulum-v1"
  with pytest.raises(ConfigError, match="needs a discrete action space; Pendulum-v1"):
    make_task(c)
  c = tiny_config("ppo")
  c.rl.cliip_eps = 0.1
  with pytest.raises(ConfigError, match=r"Unknown key rl.cliip_eps .*did you mean 'clip_eps'"):
    make_task(c)
  c = tiny_config("ppo", total_timesteps=2 * 128 * 2, updates_per_step=1)
  loop.run(make_task(c), tmp_path)
  other = tiny_config("ppo", total_timesteps=4 * 128 * 2, updates_per_step=1)
  other.env.name = "Acrobot-v1"  # 6 observations instead of CartPole's 4
  with pytest.raises(DataError, match=r"observations \(4,\).*observations \(6,\).*another "
                     r"environment"):
    loop.run(make_task(other), tmp_path)


def test_gridworld_value_iteration_and_q_learning_on_the_loop(tmp_path):
  """Acceptance 5: value iteration = the linear solve to 1e-6; Q-learning's greedy policy is
  optimal with Q within 1e-2 of Q*."""
  from configs import gridworld_q_learning, gridworld_value_iteration
  from dlcore.train import loop
  from experiments.tabular import make_task
  _, vi = loop.run(make_task(gridworld_value_iteration.get_config()), tmp_path / "vi")
  assert vi["test"]["vi_error"] <= 1e-6 and vi["test"]["policy_optimal"] == 1
  assert vi["test"]["vi_sweeps"] > 20 and vi["step"] < 1000  # slippery: many sweeps, then stops
  _, q = loop.run(make_task(gridworld_q_learning.get_config()), tmp_path / "q")
  assert q["test"]["policy_optimal"] == 1 and q["test"]["max_abs_error"] <= 1e-2
  assert (tmp_path / "q" / "plots" / "test.png").exists()


def test_atari_ppo_trains_through_host_callbacks(tmp_path):
  """PPO's jitted rollout drives the ale-py emulators (io_callback) with the Nature CNN."""
  from configs import atari_pong_ppo
  from dlcore.train import loop
  from experiments.rl import make_task
  c = atari_pong_ppo.get_config()
  c.env.num_envs = 2
  c.rl.update(num_steps=8, num_minibatches=2, update_epochs=1, total_timesteps=32)
  c.evals = D({"test": D(dict(type="episodes", num_episodes=1, max_steps=10, at_end=True))})
  _, result = loop.run(make_task(c), tmp_path)
  assert result["status"] == "finished" and result["step"] == 2
  assert result["test"]["unfinished"] == 1  # 10 steps are not a game of Pong
