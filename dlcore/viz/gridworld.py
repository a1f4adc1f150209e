"""A gridworld's state values V(s) as a heatmap with a policy's actions as arrows (RL-4)."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dlcore.errors import ConfigError  # noqa: E402

ACTION_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left: dlcore.rl.tabular's

CELL_LABEL = {"G": "goal", "P": "pit"}
CELL_COLOR = {"G": "tab:green", "P": "tab:red"}  # other terminals: gray; walls: black


def plot_gridworld(mdp, V, policy=None, path: str | pathlib.Path = "gridworld.png",
                   title: str = "") -> pathlib.Path:
  """PNG of V (`mdp`: a `dlcore.rl.tabular.TabularMDP`) reshaped to the grid (`mdp.shape`), each
  cell's value written in it, an arrow per non-terminal cell for `policy` (int actions [S],
  up/right/down/left; None: no arrows) and the terminal cells marked: walls black, goals green,
  pits red, other terminals gray (from `mdp.layout`); the colour scale covers the non-terminal
  cells."""
  if mdp.shape is None:
    raise ConfigError("plot_gridworld needs a grid MDP with a shape (rows, cols); build it with "
                      "dlcore.rl.tabular.gridworld.")
  rows, cols = mdp.shape
  V = np.asarray(V, np.float64)
  if V.shape != (mdp.num_states,):
    raise ConfigError(f"plot_gridworld needs V of shape [{mdp.num_states}], got {V.shape}.")
  if policy is not None:
    policy = np.asarray(policy)
    if policy.shape != (mdp.num_states,) or mdp.num_actions != len(ACTION_DELTAS):
      raise ConfigError(f"plot_gridworld draws int actions [{mdp.num_states}] of the 4 grid "
                        f"moves, got policy shape {policy.shape} for {mdp.num_actions} actions.")
  layout = mdp.layout or tuple("".join("T" if mdp.terminal[r * cols + c] else "."
                                       for c in range(cols)) for r in range(rows))
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  grid = V.reshape(rows, cols)
  walls = np.array([[ch == "#" for ch in row] for row in layout])
  shown = np.ma.masked_array(grid, walls | mdp.terminal.reshape(rows, cols))
  fig, ax = plt.subplots(figsize=(1.1 * cols + 1.6, 1.1 * rows + 0.8))
  cmap = matplotlib.colormaps["viridis"].with_extremes(bad="black")
  im = ax.imshow(shown, cmap=cmap, origin="upper")
  fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="V(s)")
  size = max(6, 11 - max(rows, cols) // 2)
  for r in range(rows):
    for c in range(cols):
      ch, s = layout[r][c], r * cols + c
      if ch == "#":
        continue
      terminal = bool(mdp.terminal[s])
      text = f"{grid[r, c]:.2f}"
      if terminal:
        text = f"{CELL_LABEL.get(ch, 'terminal')}\n{text}"
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=CELL_COLOR.get(ch, "gray"),
                                   edgecolor="white", linewidth=2, hatch="//"))
      if mdp.start == s:
        text = f"start\n{text}"
      ax.text(c, r + (0.3 if policy is not None and not terminal else 0.0), text, ha="center",
              va="center", fontsize=size, color="white",
              bbox={"facecolor": "black", "alpha": 0.35, "pad": 1, "linewidth": 0})
      if policy is not None and not terminal:
        dr, dc = ACTION_DELTAS[int(policy[s])]
        ax.annotate("", xy=(c + 0.28 * dc, r - 0.08 + 0.25 * dr),
                    xytext=(c - 0.28 * dc, r - 0.08 - 0.25 * dr),
                    arrowprops={"arrowstyle": "->", "color": "white", "lw": 2})
  ax.set_xticks(range(cols))
  ax.set_yticks(range(rows))
  ax.set_xlabel("col")
  ax.set_ylabel("row")
  ax.set_title(title or f"V(s), γ = {mdp.gamma:g}")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path
