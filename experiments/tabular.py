"""Tabular MDPs (RL-2..5): value iteration and Q-learning on a gridworld, on the shared loop.

The MDP (`config.mdp`, `dlcore.rl.tabular.gridworld`) is arrays P [S, A, S'], R [S, A] and γ.
`tabular.algorithm`:
- 'value_iteration': one training step is one Bellman optimality backup over every state,
  V_{k+1}(s) = max_a [R(s, a) + γ Σ_s' P(s'|s, a) V_k(s')], logging ‖V_{k+1} − V_k‖∞ ('delta');
  the run stops when delta <= `tabular.tol`.
- 'q_learning': one training step is `tabular.steps_per_train_step` steps of ε-greedy tabular
  Q-learning on transitions sampled from P (`q_learning_chunk`), logging the episodes' mean
  return and the mean |TD error|.

The values are the part `values` (params {'V'} or {'Q'}, no optimizer); Q-learning's counts,
position and key are `extra`, so a resumed run continues exactly.

Evaluator type 'exact' (at the end): the exact values of the MDP, V* by float64 value iteration
(tol 1e-10) checked against V^{π*} from a linear solve of the Bellman equations (I − γ P_π) V =
R_π (`policy_values`), and how far the trained values are from them: `vi_error` (float64 value
iteration vs the linear solve), `max_abs_error` (the run's values vs V* or Q*), `policy_optimal`
(the run's greedy policy has the optimal values, to 1e-6), and a picture of V with the greedy
policy (plots/<name>.png).
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.metrics import Average, PackedAverages
from dlcore.rl import tabular
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import Part, TrainState
from dlcore.train.task import Task
from dlcore.viz.gridworld import plot_gridworld

PART = "values"
ALGORITHMS = ("value_iteration", "q_learning")


def make_mdp(cfg) -> tabular.TabularMDP:
  """The gridworld of `config.mdp` (cells as (row, col) pairs)."""
  c = cfg.to_dict()
  cells = lambda key: tuple(tuple(int(v) for v in cell) for cell in c.pop(key, ()) or ())
  goals, walls, pits = cells("goals") or None, cells("walls"), cells("pits")
  start = c.pop("start", None)
  start = tuple(int(v) for v in start) if start else None
  try:
    return tabular.gridworld(goals=goals, walls=walls, pits=pits, start=start, **c)
  except TypeError as e:
    raise ConfigError(f"config.mdp: {e}; valid keys: rows, cols, slip, step_reward, "
                      f"goal_reward, pit_reward, goals, walls, pits, start, gamma.") from None


def make_task(config) -> Task:
  mdp = make_mdp(config.mdp)
  t = config.tabular
  if t.algorithm not in ALGORITHMS:
    raise ConfigError(f"tabular.algorithm={t.algorithm!r}; valid: {', '.join(ALGORITHMS)}.")
  vi = t.algorithm == "value_iteration"
  S, A = mdp.num_states, mdp.num_actions
  chunk = int(t.steps_per_train_step)

  def init(rng):
    train_key, q_key = jax.random.split(rng)
    if vi:
      params, extra = {"V": jnp.zeros((S,), jnp.float32)}, {}
    else:
      carry = tabular.q_learning_init(mdp, q_key, exploring_starts=bool(t.exploring_starts))
      params, extra = {"Q": carry.q}, {"carry": carry._replace(q=None)}
    return TrainState.create(rng=train_key, parts={PART: Part.create(params, optax.identity())},
                             extra=extra)

  def train_step(state, batch):
    del batch
    one = jnp.float32(1)
    if vi:
      V = state.part(PART).params["V"]
      new_v, _ = tabular.bellman_backup(mdp, V)
      metrics = {"delta": Average(jnp.abs(new_v - V).max(), one)}
      state = state.replace_part(PART, params={"V": new_v})
    else:
      carry = state.extra["carry"]._replace(q=state.part(PART).params["Q"])
      carry, stats = tabular.q_learning_chunk(
          mdp, carry, chunk, float(t.alpha), float(t.epsilon), omega=float(t.omega),
          max_episode_steps=int(t.max_episode_steps), exploring_starts=bool(t.exploring_starts))
      n = stats["episodes"].astype(jnp.float32)
      metrics = {"return": Average(jnp.where(n > 0, stats["mean_return"] * n, 0.0), n),
                 "episode_length": Average(jnp.where(n > 0, stats["mean_length"] * n, 0.0), n),
                 "td_error": Average(stats["mean_abs_td"], one)}
      state = state.replace_part(PART, params={"Q": carry.q}).replace(
          extra={"carry": carry._replace(q=None)})
    return state.replace(step=state.step + 1), PackedAverages.pack(metrics)

  def exact(name, spec):
    v_star, q_star, sweeps = tabular.value_iteration(mdp)
    pi_star = np.asarray(tabular.greedy_policy(q_star))
    v_linear = tabular.policy_values(mdp, pi_star)

    def run(state, args, workdir=None):
      params = jax.device_get(state.part(PART).params)
      q = params.get("Q")
      v = np.asarray(params["V"]) if vi else np.asarray(q).max(-1)
      q_run = None if vi else np.asarray(q)
      if vi:
        _, q_run = tabular.bellman_backup(mdp, jnp.asarray(v))
      policy = np.asarray(tabular.greedy_policy(q_run))
      v_policy = tabular.policy_values(mdp, policy)
      live = ~mdp.terminal
      out = {"vi_error": float(np.abs(v_star - v_linear).max()), "vi_sweeps": int(sweeps),
             "max_abs_error": float(np.abs(v - v_star)[live].max()) if vi else
             float(np.abs(q_run - q_star)[live].max()),
             "policy_optimal": int(np.abs(v_policy - v_star).max() <= 1e-6),
             "policy_value_gap": float(np.abs(v_policy - v_star).max())}
      if workdir is not None and mdp.shape is not None:
        path = pathlib.Path(workdir) / "plots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        out["plot"] = str(plot_gridworld(mdp, v, policy, path,
                                         title=f"{t.algorithm}: V and the greedy policy"))
      return out

    return run

  specs = config.get("evals", None)
  specs = ({k: v.to_dict() for k, v in specs.items()} if specs else
           {"test": {"type": "exact", "at_end": True}})
  tol = float(t.tol)
  return Task(config=config, mesh=mesh_lib.make_mesh(1), init=init, train_step=train_step,
              batches=None, evaluators=parse_evals(specs, {"exact": exact}),
              stop_when=(lambda values: values["delta"] <= tol) if vi else None,
              plot_metrics=("delta",) if vi else ("return", "td_error"), summary_part=PART,
              summary={"mdp": f"gridworld {mdp.shape[0]}x{mdp.shape[1]}: {S} states, {A} "
                              f"actions, gamma {mdp.gamma}, {t.algorithm}"})
