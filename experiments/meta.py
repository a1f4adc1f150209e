"""Meta-learning (ARC-49; 003 §VI.4 "learning to learn"): MAML on sinusoid regression (Finn et
al. 2017 §5.1; tasks from `dlcore.data.sinusoid`), with the network of the paper (`model`:
MLP 1-40-40-1, ReLU) and its pretrained baseline. `meta.method`:

- 'maml': each step draws `meta.tasks_per_step` sinusoids with `meta.shots` = K support and K
  query points each, adapts θ on every task's support MSE by `meta.inner_steps` SGD steps of
  size `meta.inner_lr` (`dlcore.optim.inner_loop.sgd_adapt`), and takes one outer step
  (`optimizer`, Adam) on the mean query MSE at the adapted parameters, differentiated through
  the inner steps (second order: `jax.grad` of `jax.grad`) or, with `meta.first_order`, with the
  inner gradients held constant (first-order MAML);
- 'pretrain': the baseline, one network regressing all the tasks' 2K points jointly (the same
  draws, no inner loop).

Evaluator 'adaptation' (the same for both): `num_tasks` new sinusoids (from the key `seed`, never
seen in training), each fine-tuned from θ by `steps` SGD steps on its `shots` support points;
the MSE on `query` other points of the task after 0..steps steps, averaged over the tasks, is
logged as mse_0..mse_<steps> and written to `<workdir>/adaptation.json`, with the curve in
plots/<name>.png. The step size is `lr`, or, when `lr` lists several, the one of lowest MSE after
`steps` steps on another `num_tasks` validation sinusoids (Finn et al. tuned the baseline's step
size; the test tasks never choose it), logged as `lr`. `compare` lists other runs (workdirs
relative to this run's parent: sibling variants of a comparison) whose curves, if already
written, are drawn in the same picture.
"""

from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp

from dlcore.config import cfg_get
from dlcore.data.sinusoid import sample_points, sample_tasks
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.optim.inner_loop import sgd_adapt, sgd_curve
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task
from dlcore.viz.adaptation import plot_adaptation

METHODS = ("maml", "pretrain")
OPTIONS = {"adaptation": ("shots", "steps", "lr", "num_tasks", "query", "seed", "compare")}
CURVE_FILE = "adaptation.json"


def _int(cfg, key: str, default: int) -> int:
  value = cfg_get(cfg, key, default)
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ConfigError(f"meta.{key} must be an int >= 1, got {value!r}.")
  return value


def make_task(config) -> Task:
  m = config.meta
  method = str(cfg_get(m, "method", "maml"))
  if method not in METHODS:
    raise ConfigError(f"meta.method={method!r}; valid: {', '.join(METHODS)}.")
  tasks, shots = _int(m, "tasks_per_step", 25), _int(m, "shots", 10)
  inner_steps, inner_lr = _int(m, "inner_steps", 1), float(cfg_get(m, "inner_lr", 0.01))
  first_order = bool(cfg_get(m, "first_order", False))
  settings = LoopSettings.from_config(config, 0)
  model = build_model(config.model, 1)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  mse = lambda p, x, y: jnp.mean((model.apply({"params": p}, x) - y) ** 2)

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key}, jnp.zeros((1, 1)))["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  def loss_fn(params, state, batch, rngs):
    task_key, point_key = jax.random.split(rngs["tasks"])
    x, y = sample_points(point_key, *sample_tasks(task_key, tasks), 2 * shots)
    if method == "pretrain":
      losses = jax.vmap(lambda xt, yt: mse(params, xt, yt))(x, y)
    else:
      def query_loss(xt, yt):
        adapted = sgd_adapt(lambda p: mse(p, xt[:shots], yt[:shots]), params, inner_lr,
                            inner_steps, first_order)
        return mse(adapted, xt[shots:], yt[shots:])
      losses = jax.vmap(query_loss)(x, y)
    return losses.mean(), {"metrics": {"loss": Average.from_values(losses)}}

  evaluators = parse_evals(config.evals, {"adaptation": adaptation_factory(config, mse)},
                           options=OPTIONS, writes_files=("adaptation",))
  kind = ("pretrained baseline (joint regression)" if method == "pretrain" else
          f"{'first-order ' if first_order else ''}MAML, {inner_steps} inner step(s) of "
          f"{inner_lr:g}")
  return Task(config=config, mesh=mesh_lib.mesh_from_config(config.mesh, 1),
              init=init, train_step=make_train_step(loss_fn, streams=DEFAULT_STREAMS + ("tasks",)),
              batches=None, evaluators=evaluators, plot_metrics=("loss",),
              summary={"data": f"sinusoids A~U[0.1,5], phase~U[0,pi], x~U[-5,5]; {tasks} tasks "
                               f"a step, K={shots} support + {shots} query points; {kind}"})


def _tasks(key, num_tasks: int, num_points: int):
  return sample_points(key, *sample_tasks(jax.random.fold_in(key, 1), num_tasks), num_points)


def adaptation_factory(config, mse):
  """The 'adaptation' evaluator (module docstring)."""
  def factory(name, spec):
    shots, steps, query = int(spec.get("shots", 10)), int(spec.get("steps", 10)), int(
        spec.get("query", 100))
    lrs = spec.get("lr", 0.01)
    lrs = tuple(float(v) for v in (lrs if isinstance(lrs, (tuple, list)) else (lrs,)))
    key, num_tasks = jax.random.PRNGKey(int(spec.get("seed", 1234))), int(
        spec.get("num_tasks", 1000))
    test, val = (_tasks(jax.random.fold_in(key, i), num_tasks, shots + query) for i in (0, 1))

    @jax.jit
    def curve(params, lr, x, y):
      one = lambda xt, yt: sgd_curve(lambda p: mse(p, xt[:shots], yt[:shots]),
                                     lambda p: mse(p, xt[shots:], yt[shots:]), params, lr, steps)
      return jax.vmap(one)(x, y).mean(0)

    def run(state, args, workdir=None):
      params = state.eval_params()
      final = [float(curve(params, lr, *val)[-1]) for lr in lrs]
      best = min(range(len(lrs)), key=lambda i: final[i] if final[i] == final[i] else 1e30)
      values = [float(v) for v in jax.device_get(curve(params, lrs[best], *test))]
      out = {f"mse_{s}": v for s, v in enumerate(values)}
      out["lr"] = lrs[best]
      if workdir is not None:
        workdir = pathlib.Path(workdir)
        (workdir / CURVE_FILE).write_text(json.dumps(
            {"name": config.name, "lr": lrs[best], "mse": values,
             "validation_mse_at_end": dict(zip(map(str, lrs), final))}) + "\n")
        curves = {f"{workdir.name} (lr {lrs[best]:g})": values}
        for other in spec.get("compare", ()):
          path = workdir.resolve().parent / other / CURVE_FILE
          if path.is_file():
            saved = json.loads(path.read_text())
            curves[f"{other} (lr {saved['lr']:g})"] = saved["mse"]
        out["plot"] = str(plot_adaptation(curves, workdir / "plots" / f"{name}.png",
                                          f"{shots}-shot sinusoid regression, SGD fine-tuning"))
      return out
    return run
  return factory
