"""Tabular MDP tools (RL-2..5): value iteration against exact linear-solve policy values and closed
forms, the Bellman optimality equation on random MDPs, Q-learning converging to Q*, plots."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.rl import tabular
from dlcore.rl.tabular import TabularMDP, gridworld

# Sutton & Barto Example 4.1: V of the equiprobable random policy, γ = 1.
SB_RANDOM_V = np.array([[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14],
                        [-22, -20, -14, 0]], np.float64)

# The Q-learning setting the test (and a config) relies on: deterministic 5x5, γ = 0.9, a constant
# α (exact in a deterministic MDP; max |Q − Q*| ~ 3e-6 over 20 seeds, the decaying α of
# omega 0.5..0.8 is still 0.01..1 off after 40k steps).
QL_GRID = dict(rows=5, cols=5, goals=((0, 4),), pits=((2, 2),), walls=((1, 1), (3, 3)),
               gamma=0.9)
QL_SETTINGS = dict(num_steps=20_000, alpha=0.5, epsilon=0.5, omega=0.0, max_episode_steps=50)


def _check_vi_matches_linear_solve(mdp, atol=1e-6):
  V, Q, iters = tabular.value_iteration(mdp)
  assert iters >= 1 and V.dtype == np.float64
  np.testing.assert_allclose(tabular.policy_values(mdp, tabular.greedy_policy(Q)), V, atol=atol)
  np.testing.assert_allclose(Q.max(-1), V, atol=atol)
  assert (V[mdp.terminal] == 0).all() and (Q[mdp.terminal] == 0).all()
  return V, Q


def test_sutton_barto_4x4_closed_forms():
  mdp = gridworld()
  V, _ = _check_vi_matches_linear_solve(mdp)
  r, c = np.divmod(np.arange(16), 4)
  np.testing.assert_allclose(V, -np.minimum(r + c, 6 - r - c), atol=1e-9)
  uniform = np.full((16, 4), 0.25)
  np.testing.assert_allclose(tabular.policy_values(mdp, uniform).reshape(4, 4), SB_RANDOM_V,
                             atol=1e-9)


def test_slippery_5x5_with_pit_and_wall():
  mdp = gridworld(5, 5, slip=0.2, goals=((4, 4),), pits=((2, 2),), walls=((1, 3),),
                  gamma=0.95, goal_reward=1.0)
  np.testing.assert_allclose(mdp.P.sum(-1), 1.0)
  V, _ = _check_vi_matches_linear_solve(mdp)
  assert V[4 * 5 + 3] > V[0]  # next to the goal beats the far corner


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9])
def test_deterministic_corridor(gamma):
  mdp = gridworld(1, 6, goals=((0, 0),), gamma=gamma)
  V, Q = _check_vi_matches_linear_solve(mdp)
  d = np.arange(6)
  np.testing.assert_allclose(V, -(1 - gamma ** d) / (1 - gamma), atol=1e-9)
  if gamma > 0:  # (with γ = 0 every action ties at −1)
    np.testing.assert_array_equal(np.asarray(tabular.greedy_policy(Q))[1:], 3)  # left


def test_bellman_backup_sweeps_contract():
  mdp = gridworld(4, 4, slip=0.1, gamma=0.9)
  V = np.zeros(16, np.float32)
  deltas = []
  for _ in range(30):
    V2, Q = tabular.bellman_backup(mdp, V)
    deltas.append(float(np.abs(V2 - V).max()))
    V = V2
  assert Q.shape == (16, 4) and V.dtype == np.float32
  assert all(b <= 0.9 * a + 1e-6 for a, b in zip(deltas[:-1], deltas[1:]))
  np.testing.assert_allclose(V, tabular.value_iteration(mdp)[0], atol=0.9 ** 30 / 0.1 + 1e-5)


def _random_mdp(seed, S, A, gamma, with_terminals):
  rng = np.random.default_rng(seed)
  P = rng.dirichlet(np.ones(S), size=(S, A))
  R = rng.normal(size=(S, A))
  terminal = (rng.random(S) < 0.3) if with_terminals else None
  return TabularMDP(P=P, R=R, gamma=gamma, terminal=terminal)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31), S=st.integers(1, 6), A=st.integers(1, 4),
       gamma=st.floats(0.0, 0.95), with_terminals=st.booleans())
def test_random_mdp_bellman_optimality(seed, S, A, gamma, with_terminals):
  mdp = _random_mdp(seed, S, A, gamma, with_terminals)
  V, Q = _check_vi_matches_linear_solve(mdp)
  live = ~mdp.terminal
  bellman = (mdp.R + mdp.gamma * mdp.P @ V).max(-1)
  np.testing.assert_allclose(V[live], bellman[live], atol=1e-6)
  np.testing.assert_allclose(Q[live], (mdp.R + mdp.gamma * mdp.P @ V)[live], atol=1e-6)


def test_q_learning_finds_q_star():
  mdp = gridworld(**QL_GRID)
  _, Q_star, _ = tabular.value_iteration(mdp)
  Q, stats = tabular.q_learning(mdp, jax.random.key(0), **QL_SETTINGS)
  Q = np.asarray(Q, np.float64)
  live = ~mdp.terminal
  assert (stats["counts"][live] > 0).all() and stats["episodes"] > 100
  assert np.isfinite(stats["mean_return"])
  assert np.abs(Q - Q_star)[live].max() < 1e-2
  chosen = Q_star[np.arange(mdp.num_states), np.asarray(tabular.greedy_policy(Q))]
  np.testing.assert_allclose(chosen[live], Q_star.max(-1)[live], atol=1e-6)


def test_transitions_sampled_from_p():
  p = np.array([0.0, 0.2, 0.0, 0.5, 0.3, 0.0])
  cdf = jax.numpy.asarray(np.cumsum(p), jax.numpy.float32)
  u = jax.random.uniform(jax.random.key(0), (20_000,))
  idx = np.asarray(tabular._sample(cdf, u))
  np.testing.assert_allclose(np.bincount(idx, minlength=6) / len(idx), p, atol=0.015)


def test_q_learning_chunks_compose():
  mdp = gridworld(**QL_GRID, slip=0.2)  # the shapes of the test above: no new compilation
  carry = tabular.q_learning_init(mdp, jax.random.key(1))
  whole, _ = tabular.q_learning_chunk(mdp, carry, 600)
  half, _ = tabular.q_learning_chunk(mdp, carry, 300)
  half, stats = tabular.q_learning_chunk(mdp, half, 300)
  np.testing.assert_array_equal(np.asarray(whole.q), np.asarray(half.q))
  assert int(half.step) == 600 and int(half.counts.sum()) == 600
  assert set(stats) == {"episodes", "mean_return", "mean_length", "mean_abs_td"}


def test_bad_inputs_raise_config_error():
  P = np.full((3, 2, 3), 0.3)
  with pytest.raises(ConfigError, match="sums to 0.9"):
    TabularMDP(P=P, R=np.zeros((3, 2)), gamma=0.9)
  P = np.full((3, 2, 3), 1 / 3)
  with pytest.raises(ConfigError, match="gamma"):
    TabularMDP(P=P, R=np.zeros((3, 2)), gamma=1.0)
  with pytest.raises(ConfigError, match="shape"):
    TabularMDP(P=P, R=np.zeros((2, 3)), gamma=0.5)
  with pytest.raises(ConfigError, match="more than one"):
    gridworld(goals=((0, 0),), pits=((0, 0),))
  with pytest.raises(ConfigError, match="outside"):
    gridworld(walls=((4, 0),))
  with pytest.raises(ConfigError, match="start state"):
    tabular.q_learning_init(gridworld(), jax.random.key(0), exploring_starts=False)
  walled = gridworld(3, 3, goals=((0, 0),), walls=((1, 0), (0, 1), (1, 1)))  # goal cut off
  with pytest.raises(ConfigError, match="did not converge"):
    tabular.value_iteration(walled, max_iters=200)
  with pytest.raises(ConfigError, match="never"):
    tabular.policy_values(walled, np.zeros(9, np.int32))


def test_plot_gridworld_writes_png(tmp_path):
  from dlcore.viz.gridworld import plot_gridworld
  mdp = gridworld(5, 5, slip=0.1, goals=((4, 4),), pits=((2, 2),), walls=((1, 3),), gamma=0.9,
                  start=(0, 0))
  V, Q, _ = tabular.value_iteration(mdp)
  path = plot_gridworld(mdp, V, tabular.greedy_policy(Q), tmp_path / "grid.png", title="VI")
  assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
