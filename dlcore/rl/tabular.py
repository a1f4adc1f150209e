"""Tabular MDPs solved exactly: value iteration, policy evaluation by a linear solve, and
tabular Q-learning (RL-2..5).

- `TabularMDP`: the 5-tuple (S, A, P, R, γ) of RL-2 as arrays, P[s, a, s'] = P(s' | s, a),
  R[s, a] = E[r | s, a], plus a `terminal` mask [S] of absorbing states whose value is 0.
- The objective (RL-3) is the expected discounted return (RL-5) G_t = Σ_k γ^k r_{t+k+1};
  its value functions (RL-4) satisfy the Bellman equations
    V^π(s) = Σ_a π(a|s) Q^π(s, a),   Q^π(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V^π(s'),
  and the optimal ones the Bellman optimality equation V*(s) = max_a Q*(s, a).
- `bellman_backup`: one sweep V_{k+1}(s) = max_a [R(s, a) + γ Σ_s' P(s'|s, a) V_k(s')];
  `value_iteration` repeats it until ‖V_{k+1} − V_k‖∞ <= tol (a γ-contraction).
- `policy_values`: V^π exactly, solving (I − γ P_π) V = R_π on the non-terminal states.
- `gridworld`: the grid of Sutton & Barto Example 4.1 (4x4, two terminal corners, reward −1 per
  move), with walls, pits and slip.
- `q_learning`: Q(s, a) <- Q(s, a) + α_t [r + γ (1 − terminal(s')) max_a' Q(s', a') − Q(s, a)]
  with ε-greedy actions, transitions sampled from P; also as `q_learning_init` +
  `q_learning_chunk` (K steps per jitted call, the carry explicit).

Terminal states are absorbing with value 0 whatever their rows of P and R say: every backup
masks them, so V(terminal) = Q(terminal, ·) = 0.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError

ACTION_NAMES = ("up", "right", "down", "left")
# (d_row, d_col) of each grid action; rows grow downwards.
ACTION_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))
PROB_ATOL = 1e-6  # how far a row of P may sum from 1


@dataclasses.dataclass(frozen=True, eq=False)
class TabularMDP:
  """A finite MDP (S, A, P, R, γ) (RL-2), validated and stored as float64 NumPy arrays.

  P: [S, A, S'] transition probabilities P(s' | s, a), each row summing to 1.
  R: [S, A] expected reward R(s, a) = Σ_s' P(s'|s, a) r(s, a, s').
  gamma: discount in [0, 1); gamma == 1 only with at least one terminal state.
  terminal: bool [S] absorbing states of value 0 (default: none).
  shape: (rows, cols) of a grid, state = row * cols + col (optional, for plots).
  start: the start state of episodes (optional; `q_learning` can use exploring starts instead).
  layout: one string per grid row, a character per cell: '.' free, '#' wall, 'G' goal,
    'P' pit (optional, for plots; `gridworld` fills it).
  """
  P: np.ndarray
  R: np.ndarray
  gamma: float
  terminal: np.ndarray | None = None
  shape: tuple[int, int] | None = None
  start: int | None = None
  layout: tuple[str, ...] | None = None

  def __post_init__(self):
    P = np.asarray(self.P, np.float64)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or 0 in P.shape:
      raise ConfigError(f"TabularMDP.P must have shape [S, A, S] with S, A >= 1, got "
                        f"{P.shape}.")
    S, A = P.shape[:2]
    R = np.asarray(self.R, np.float64)
    if R.shape != (S, A):
      raise ConfigError(f"TabularMDP.R must have shape [S, A] = {(S, A)} like P, got "
                        f"{R.shape}.")
    if not (np.isfinite(P).all() and np.isfinite(R).all()):
      raise ConfigError("TabularMDP.P and R must be finite; replace the NaN or Inf entries.")
    sums = P.sum(-1)
    if (P < 0).any() or np.abs(sums - 1).max() > PROB_ATOL:
      s, a = np.unravel_index(np.argmax(np.abs(sums - 1) + (P < 0).any(-1)), sums.shape)
      raise ConfigError(f"Every row P[s, a, :] must be a probability distribution (>= 0, "
                        f"summing to 1), but P[{s}, {a}, :] sums to {sums[s, a]:.6g}.")
    terminal = (np.zeros(S, bool) if self.terminal is None
                else np.asarray(self.terminal).astype(bool))
    if terminal.shape != (S,):
      raise ConfigError(f"TabularMDP.terminal must be a bool mask of shape [{S}], got "
                        f"{terminal.shape}.")
    gamma = float(self.gamma)
    if not (0.0 <= gamma < 1.0 or (gamma == 1.0 and terminal.any())):
      raise ConfigError(f"TabularMDP.gamma must be in [0, 1) (or exactly 1 with terminal "
                        f"states, so returns stay finite), got {self.gamma!r}.")
    shape = None if self.shape is None else tuple(int(n) for n in self.shape)
    if shape is not None and (len(shape) != 2 or shape[0] * shape[1] != S):
      raise ConfigError(f"TabularMDP.shape must be (rows, cols) with rows * cols = S = {S}, "
                        f"got {self.shape!r}.")
    start = self.start
    if start is not None:
      if not (isinstance(start, (int, np.integer)) and 0 <= start < S) or terminal[start]:
        raise ConfigError(f"TabularMDP.start must be a non-terminal state index in "
                          f"[0, {S}), got {start!r}.")
      start = int(start)
    layout = None if self.layout is None else tuple(self.layout)
    if layout is not None and (shape is None or len(layout) != shape[0]
                               or any(len(row) != shape[1] for row in layout)):
      raise ConfigError(f"TabularMDP.layout needs a shape and one string of {shape and shape[1]} "
                        f"characters per row, got {layout!r}.")
    for name, value in (("P", P), ("R", R), ("terminal", terminal), ("gamma", gamma),
                        ("shape", shape), ("start", start), ("layout", layout)):
      object.__setattr__(self, name, value)

  @property
  def num_states(self) -> int:
    return self.P.shape[0]

  @property
  def num_actions(self) -> int:
    return self.P.shape[1]


def _cell(name: str, cell, rows: int, cols: int) -> tuple[int, int]:
  try:
    r, c = (int(x) for x in cell)
  except (TypeError, ValueError):
    raise ConfigError(f"gridworld {name} must be (row, col) pairs, got {cell!r}.") from None
  if not (0 <= r < rows and 0 <= c < cols):
    raise ConfigError(f"gridworld {name} cell {(r, c)} lies outside the {rows}x{cols} grid.")
  return r, c


def gridworld(rows: int = 4, cols: int = 4, *, slip: float = 0.0, step_reward: float = -1.0,
              goal_reward: float = 0.0, walls: Sequence = (), goals: Sequence | None = None,
              pits: Sequence = (), pit_reward: float = -10.0, gamma: float = 1.0,
              start: tuple[int, int] | None = None) -> TabularMDP:
  """A grid MDP; the defaults are Sutton & Barto Example 4.1 (4x4, terminal corners (0, 0) and
  (3, 3), reward −1 per move, γ = 1; there V*(s) = −(moves to the nearer corner)).

  State = row * cols + col; actions 0..3 = up, right, down, left (`ACTION_NAMES`). A move into
  the edge or a wall stays put. With `slip`, the intended move happens with probability
  1 − slip and each perpendicular move with slip / 2. Every move earns
    r(s, a, s') = step_reward + goal_reward [s' a goal] + pit_reward [s' a pit],
  and R[s, a] = Σ_s' P(s'|s, a) r(s, a, s'). Goals and pits are terminal (absorbing, value 0).
  `goals` None: the corners (0, 0) and (rows − 1, cols − 1). Wall cells stay states (so the
  state numbering is the grid's) but are unreachable and marked terminal, so that nothing starts
  there; `layout` marks them '#'. `start`: (row, col) of episodes' start (optional).
  """
  if not (isinstance(rows, (int, np.integer)) and isinstance(cols, (int, np.integer))
          and rows >= 1 and cols >= 1 and rows * cols >= 2):
    raise ConfigError(f"gridworld needs int rows, cols >= 1 with at least 2 cells, got "
                      f"rows={rows!r}, cols={cols!r}.")
  if not 0.0 <= slip <= 1.0:
    raise ConfigError(f"gridworld slip is a probability in [0, 1], got {slip!r}.")
  goals = ((0, 0), (rows - 1, cols - 1)) if goals is None else goals
  kinds = {}
  for name, cells, char in (("walls", walls, "#"), ("goals", goals, "G"), ("pits", pits, "P")):
    for cell in cells:
      rc = _cell(name, cell, rows, cols)
      if rc in kinds and kinds[rc] != char:
        raise ConfigError(f"gridworld cell {rc} is listed as more than one of walls, goals "
                          f"and pits; give each cell one role.")
      kinds[rc] = char
  S, A = rows * cols, len(ACTION_DELTAS)
  idx = lambda r, c: r * cols + c
  terminal = np.zeros(S, bool)
  for (r, c) in kinds:
    terminal[idx(r, c)] = True
  bonus = np.zeros(S)
  for (r, c), char in kinds.items():
    bonus[idx(r, c)] = {"G": goal_reward, "P": pit_reward, "#": 0.0}[char]

  def move(r, c, a):
    r2, c2 = r + ACTION_DELTAS[a][0], c + ACTION_DELTAS[a][1]
    inside = 0 <= r2 < rows and 0 <= c2 < cols and kinds.get((r2, c2)) != "#"
    return idx(r2, c2) if inside else idx(r, c)

  P = np.zeros((S, A, S))
  R = np.zeros((S, A))
  for r in range(rows):
    for c in range(cols):
      s = idx(r, c)
      if terminal[s]:
        P[s, :, s] = 1.0
        continue
      for a in range(A):
        for b, p in ((a, 1.0 - slip), ((a + 1) % A, slip / 2), ((a - 1) % A, slip / 2)):
          if p > 0:
            s2 = move(r, c, b)
            P[s, a, s2] += p
            R[s, a] += p * (step_reward + bonus[s2])
  layout = tuple("".join(kinds.get((r, c), ".") for c in range(cols)) for r in range(rows))
  start_state = None
  if start is not None:
    sr, sc = _cell("start", start, rows, cols)
    if (sr, sc) in kinds:
      raise ConfigError(f"gridworld start {(sr, sc)} is a wall, goal or pit; start on a free "
                        f"cell.")
    start_state = idx(sr, sc)
  return TabularMDP(P=P, R=R, gamma=gamma, terminal=terminal, shape=(rows, cols),
                    start=start_state, layout=layout)


def _backup(P, R, gamma, live, V):
  """(V', Q) of one Bellman optimality backup; terminal rows of Q (and so V') are 0."""
  Q = jnp.where(live[:, None], R + gamma * jnp.einsum("sat,t->sa", P, V), 0.0)
  return Q.max(-1), Q


def bellman_backup(mdp: TabularMDP, V) -> tuple[jax.Array, jax.Array]:
  """One sweep of value iteration (RL-4): Q(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V(s'),
  V'(s) = max_a Q(s, a), both 0 on terminal states. Returns (V' [S], Q [S, A]) in V's float
  dtype (float32 unless jax x64 is enabled), so a training loop can log ‖V' − V‖∞ per sweep."""
  V = jnp.asarray(V)
  if not jnp.issubdtype(V.dtype, jnp.floating):
    V = V.astype(jnp.float32)
  if V.shape != (mdp.num_states,):
    raise ConfigError(f"bellman_backup needs V of shape [{mdp.num_states}], got {V.shape}.")
  return _backup(jnp.asarray(mdp.P, V.dtype), jnp.asarray(mdp.R, V.dtype),
                 jnp.asarray(mdp.gamma, V.dtype), jnp.asarray(~mdp.terminal), V)


@functools.partial(jax.jit, static_argnames=("max_iters",))
def _value_iteration(P, R, gamma, live, tol, max_iters):
  def cond(c):
    _, delta, k = c
    return (delta > tol) & (k < max_iters)

  def body(c):
    V, _, k = c
    V2, _ = _backup(P, R, gamma, live, V)
    return V2, jnp.abs(V2 - V).max(), k + 1

  V0 = jnp.zeros(P.shape[0], P.dtype)
  V, delta, k = jax.lax.while_loop(cond, body, (V0, jnp.asarray(jnp.inf, P.dtype),
                                                     jnp.zeros((), jnp.int32)))
  return V, _backup(P, R, gamma, live, V)[1], k, delta


def value_iteration(mdp: TabularMDP, tol: float = 1e-10,
                    max_iters: int = 10_000) -> tuple[np.ndarray, np.ndarray, int]:
  """V*, Q* by value iteration (RL-4): V_0 = 0, V_{k+1} = max_a [R + γ P V_k] (`bellman_backup`)
  until ‖V_{k+1} − V_k‖∞ <= tol; then ‖V_k − V*‖∞ <= tol γ / (1 − γ).

  Runs in float64 under a local `jax.enable_x64(True)` (a `lax.while_loop` under jit) whatever
  the global setting: in float32 the sweeps stall near 1e-7 relative change, so tol = 1e-10 and
  agreement with `policy_values` to 1e-6 would not be reachable. Returns (V [S], Q [S, A]) as
  float64 NumPy arrays and the number of sweeps; a ConfigError if tol is not reached within
  `max_iters` sweeps (γ = 1 where some state cannot reach a terminal, or too small max_iters).
  """
  if not (tol > 0 and isinstance(max_iters, (int, np.integer)) and max_iters >= 1):
    raise ConfigError(f"value_iteration needs tol > 0 and an int max_iters >= 1, got "
                      f"tol={tol!r}, max_iters={max_iters!r}.")
  with jax.enable_x64(True):
    V, Q, k, delta = _value_iteration(jnp.asarray(mdp.P), jnp.asarray(mdp.R),
                                      jnp.asarray(mdp.gamma, jnp.float64),
                                      jnp.asarray(~mdp.terminal), jnp.asarray(tol, jnp.float64),
                                      int(max_iters))
    V, Q, k, delta = np.asarray(V), np.asarray(Q), int(k), float(delta)
  if not delta <= tol:
    raise ConfigError(f"value_iteration did not converge in {max_iters} sweeps (last change "
                      f"{delta:.3g} > tol {tol:.3g}): use gamma < 1, make every state reach a "
                      f"terminal, or raise max_iters.")
  return V, Q, k


def greedy_policy(Q) -> jax.Array:
  """π(s) = argmax_a Q(s, a), int32 [S] (ties: the lowest action index)."""
  return jnp.argmax(jnp.asarray(Q), axis=-1).astype(jnp.int32)


def policy_values(mdp: TabularMDP, policy) -> np.ndarray:
  """V^π exactly (RL-4), float64 [S]: solve V = R_π + γ P_π V, i.e. (I − γ P_π) V = R_π, on the
  non-terminal states by `np.linalg.solve` (terminal states are fixed at 0), with
  R_π(s) = Σ_a π(a|s) R(s, a) and P_π(s, s') = Σ_a π(a|s) P(s'|s, a).

  policy: int [S] (deterministic) or [S, A] probabilities π(a|s). With γ = 1 every non-terminal
  state must reach a terminal under π, else its return is unbounded (a ConfigError).
  """
  S, A = mdp.num_states, mdp.num_actions
  pi = np.asarray(policy)
  if pi.shape == (S,) and np.issubdtype(pi.dtype, np.integer):
    if pi.min() < 0 or pi.max() >= A:
      raise ConfigError(f"policy actions must lie in [0, {A}), got {pi.min()}..{pi.max()}.")
    pi = np.eye(A)[pi]
  elif pi.shape == (S, A):
    pi = pi.astype(np.float64)
    if (pi < 0).any() or np.abs(pi.sum(-1) - 1).max() > PROB_ATOL:
      raise ConfigError("A stochastic policy [S, A] needs rows of probabilities summing to 1.")
  else:
    raise ConfigError(f"policy must be int actions [{S}] or probabilities [{S}, {A}], got "
                      f"shape {pi.shape} of dtype {pi.dtype}.")
  P_pi = np.einsum("sa,sat->st", pi, mdp.P)
  R_pi = (pi * mdp.R).sum(-1)
  live = ~mdp.terminal
  if mdp.gamma == 1.0:
    reach = mdp.terminal.copy()
    for _ in range(S):
      reach = reach | (P_pi[:, reach].sum(-1) > 0)
    if not reach.all():
      raise ConfigError(f"With gamma = 1 the policy must reach a terminal state from every "
                        f"state, but states {np.flatnonzero(~reach).tolist()} never do.")
  V = np.zeros(S)
  n = int(live.sum())
  if n:
    V[live] = np.linalg.solve(np.eye(n) - mdp.gamma * P_pi[np.ix_(live, live)], R_pi[live])
  return V


class QLearningCarry(NamedTuple):
  """The state of tabular Q-learning between chunks (a pytree)."""
  q: jax.Array               # [S, A] the estimate of Q*
  counts: jax.Array          # [S, A] int32 visits n(s, a) (the learning-rate decay)
  state: jax.Array           # int32 [] the current state
  episode_step: jax.Array    # int32 [] steps taken in the current episode
  episode_return: jax.Array  # [] undiscounted return of the current episode so far
  step: jax.Array            # int32 [] steps taken in all
  key: jax.Array


def _start_probs(mdp: TabularMDP, exploring_starts: bool) -> np.ndarray:
  live = ~mdp.terminal
  if not live.any():
    raise ConfigError("Q-learning needs a non-terminal state to start from; every state is "
                      "terminal.")
  if exploring_starts:
    return live / live.sum()
  if mdp.start is None:
    raise ConfigError("exploring_starts=False needs the MDP's start state; set "
                      "TabularMDP.start (gridworld(start=(row, col))) or use exploring starts.")
  return np.eye(mdp.num_states)[mdp.start]


def q_learning_init(mdp: TabularMDP, key: jax.Array, *, exploring_starts: bool = True,
                    q_init: float = 0.0, dtype=jnp.float32) -> QLearningCarry:
  """The carry before the first step: Q = q_init (0 on terminal states), counts 0, the first
  episode's start state drawn as `q_learning_chunk` draws them (see there)."""
  cdf_starts = jnp.asarray(np.cumsum(_start_probs(mdp, exploring_starts)), jnp.float32)
  key, k = jax.random.split(key)
  s0 = _sample(cdf_starts, jax.random.uniform(k)).astype(jnp.int32)
  q = jnp.where(jnp.asarray(mdp.terminal)[:, None], 0.0,
                jnp.full((mdp.num_states, mdp.num_actions), q_init, dtype)).astype(dtype)
  zero = jnp.zeros((), jnp.int32)
  return QLearningCarry(q=q, counts=jnp.zeros(q.shape, jnp.int32), state=s0, episode_step=zero,
                        episode_return=jnp.zeros((), dtype), step=zero, key=key)


def _sample(cdf, u):
  """The index i with cdf[i − 1] <= u · cdf[−1] < cdf[i] (inverse-CDF sampling; never an index of
  probability 0)."""
  return jnp.minimum(jnp.searchsorted(cdf, u * cdf[-1], side="right"), cdf.shape[0] - 1)


@jax.jit
def _q_chunk(cdf_p, R, gamma, terminal, cdf_starts, carry, alpha, epsilon, omega, num_steps,
             max_episode_steps):
  dtype = carry.q.dtype
  A = R.shape[1]

  def step(_, c):
    carry, acc = c
    q, counts, s = carry.q, carry.counts, carry.state
    key, sub = jax.random.split(carry.key)
    u = jax.random.uniform(sub, (A + 4,))  # tie-breaks [A], explore, action, s', restart
    qs = q[s]  # ε-greedy, ties among the greedy actions broken at random
    greedy = jnp.argmax(jnp.where(qs == qs.max(), u[:A], -1.0))
    random_action = jnp.minimum((u[A + 1] * A).astype(jnp.int32), A - 1)
    a = jnp.where(u[A] < epsilon, random_action, greedy).astype(jnp.int32)
    s2 = _sample(cdf_p[s, a], u[A + 2]).astype(jnp.int32)
    r = R[s, a]
    n = counts[s, a] + 1
    lr = alpha / n.astype(dtype) ** omega
    target = r + gamma * jnp.where(terminal[s2], 0.0, q[s2].max())
    td = target - q[s, a]
    q = q.at[s, a].add(lr * td)
    counts = counts.at[s, a].set(n)
    ret = carry.episode_return + r
    t = carry.episode_step + 1
    done = terminal[s2] | (t >= max_episode_steps)
    s_next = jnp.where(done, _sample(cdf_starts, u[A + 3]), s2).astype(jnp.int32)
    acc = (acc[0] + done, acc[1] + jnp.where(done, ret, 0.0), acc[2] + jnp.where(done, t, 0),
           acc[3] + jnp.abs(td))
    carry = QLearningCarry(q=q, counts=counts, state=s_next,
                           episode_step=jnp.where(done, 0, t).astype(jnp.int32),
                           episode_return=jnp.where(done, 0.0, ret).astype(dtype),
                           step=carry.step + 1, key=key)
    return carry, acc

  acc0 = (jnp.zeros((), jnp.int32), jnp.zeros((), dtype), jnp.zeros((), jnp.int32),
          jnp.zeros((), dtype))
  carry, (episodes, sum_return, sum_length, sum_td) = jax.lax.fori_loop(
      0, num_steps, step, (carry, acc0))
  stats = {"episodes": episodes,
           "mean_return": jnp.where(episodes > 0, sum_return / jnp.maximum(episodes, 1), jnp.nan),
           "mean_length": jnp.where(episodes > 0, sum_length / jnp.maximum(episodes, 1), jnp.nan),
           "mean_abs_td": sum_td / num_steps}
  return carry, stats


def q_learning_chunk(mdp: TabularMDP, carry: QLearningCarry, num_steps: int,
                     alpha: float = 0.5, epsilon: float = 0.2, *, omega: float = 0.0,
                     max_episode_steps: int = 100,
                     exploring_starts: bool = True) -> tuple[QLearningCarry, dict]:
  """`num_steps` steps of tabular Q-learning (Watkins) in one jitted loop:
    a ~ ε-greedy(Q(s, ·)),  s' ~ P(· | s, a),  r = R(s, a),
    Q(s, a) <- Q(s, a) + α_t [r + γ (1 − terminal(s')) max_a' Q(s', a') − Q(s, a)],
  with the per-pair learning rate α_t = alpha / n(s, a)^omega (n counting this visit). omega 0
  (default) is a constant rate: exact in a deterministic MDP (alpha = 1 is asynchronous value
  iteration), a noise floor ~ sqrt(alpha) in a stochastic one; omega in (0.5, 1] meets the
  Robbins–Monro conditions under which Q -> Q* for stochastic P, but slowly (use alpha ~ 1).
  The reward is R's expectation, which leaves Q* unchanged.

  An episode ends at a terminal s' or after `max_episode_steps` (a time limit: that step still
  bootstraps from s'); the next starts at `mdp.start`, or with `exploring_starts` (default) at a
  uniformly random non-terminal state, so every state keeps being visited. Use the same
  `exploring_starts` as `q_learning_init`. Returns the carry and the chunk's statistics:
  episodes (ended), mean_return and mean_length of those (undiscounted; NaN if none ended) and
  mean_abs_td, the mean |TD error|. The loop is a `lax.fori_loop` with traced `num_steps`,
  `max_episode_steps`, alpha, epsilon and omega: one compilation per MDP size serves them all.
  """
  if not (isinstance(num_steps, (int, np.integer)) and num_steps >= 1
          and isinstance(max_episode_steps, (int, np.integer)) and max_episode_steps >= 1):
    raise ConfigError(f"q_learning needs int num_steps >= 1 and max_episode_steps >= 1, got "
                      f"{num_steps!r} and {max_episode_steps!r}.")
  if not (alpha > 0 and 0.0 <= epsilon <= 1.0 and 0.0 <= omega <= 1.0):
    raise ConfigError(f"q_learning needs alpha > 0, epsilon in [0, 1] and omega in [0, 1], got "
                      f"alpha={alpha!r}, epsilon={epsilon!r}, omega={omega!r}.")
  dtype = carry.q.dtype
  return _q_chunk(jnp.asarray(np.cumsum(mdp.P, -1), jnp.float32), jnp.asarray(mdp.R, dtype),
                  jnp.asarray(mdp.gamma, dtype), jnp.asarray(mdp.terminal),
                  jnp.asarray(np.cumsum(_start_probs(mdp, exploring_starts)), jnp.float32),
                  carry, jnp.asarray(alpha, dtype), jnp.asarray(epsilon, jnp.float32),
                  jnp.asarray(omega, dtype), jnp.asarray(num_steps, jnp.int32),
                  jnp.asarray(max_episode_steps, jnp.int32))


def q_learning(mdp: TabularMDP, key: jax.Array, num_steps: int, alpha: float = 0.5,
               epsilon: float = 0.2, *, omega: float = 0.0, max_episode_steps: int = 100,
               exploring_starts: bool = True, q_init: float = 0.0,
               dtype=jnp.float32) -> tuple[jax.Array, dict]:
  """Tabular Q-learning for `num_steps` steps (`q_learning_init` + one `q_learning_chunk`, see
  there for the update). Returns (Q [S, A], stats) with stats of the chunk as Python numbers
  plus `counts` [S, A], the visits of each state-action pair."""
  carry = q_learning_init(mdp, key, exploring_starts=exploring_starts, q_init=q_init,
                          dtype=dtype)
  carry, stats = q_learning_chunk(mdp, carry, num_steps, alpha, epsilon, omega=omega,
                                  max_episode_steps=max_episode_steps,
                                  exploring_starts=exploring_starts)
  stats = {k: v.item() for k, v in stats.items()}
  stats["counts"] = np.asarray(carry.counts)
  return carry.q, stats
