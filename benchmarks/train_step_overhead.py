"""dlcore's train step vs a minimal hand-written `jax.jit` step: same model, batch, optimizer.

  python -m benchmarks.train_step_overhead [--model mlp|cnn|both] [--batch_size 128]
      [--steps 200] [--warmup 20] [--repeats 5] [--devices 0] [--data_dir DIR] [--no_data]
      [--ablate]

dlcore side: `compile_train_step(make_train_step(train_loss(objective)), mesh)` with the initial
state, objective and mesh that `experiments.classification.build` makes from
configs/mnist_{mlp,cnn}.py (when MNIST is found via --data_dir / $DLCORE_DATA_DIR /
../shared/data; otherwise the same pieces are built directly with an MNIST-shaped DatasetInfo and
a random uint8 batch, also forced by --no_data: the step does not care where the batch came
from).

Hand-written side: the same Flax module, the preprocess math written out, `optax.adam` on the
same schedule and hyper-parameters, `value_and_grad` of the mean integer-label cross-entropy,
`tx.update` + `apply_updates` in one `jax.jit` with the params/opt_state donated.

Both start from the same parameters and dropout key; a 3-step check prints the loss difference
(~1e-6: the same computation). Each repeat runs `--warmup` untimed then `--steps` timed calls on
one device-resident batch, ending with `jax.block_until_ready`; repeats alternate between the
implementations and the median steps/s is reported. Target: dlcore / hand-written >= 0.97.
`--ablate` also times dlcore-step variants without the NaN guard, without the
grad-norm metric, without metrics, to show what each part costs (after checking that the variant
with nothing removed computes exactly what `make_train_step` does).

Prints one line per model: `RESULT train_step_ratio model=<m> ratio=<r>`. Exits 0 whatever the
ratio (it is a report); non-zero only on errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import pathlib
import statistics
import sys
import time
from typing import Any, Callable

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # also runnable as `python benchmarks/train_step_overhead.py`
  sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from dlcore.data.base import ENV_DATA_DIR, DatasetInfo  # noqa: E402
from dlcore.data.loader import TrainLoader  # noqa: E402
from dlcore.data.preprocess import make_preprocess  # noqa: E402
from dlcore.metrics import Average, PackedAverages  # noqa: E402
from dlcore.models import build_model  # noqa: E402
from dlcore.optim.builder import build_optimizer, build_schedule  # noqa: E402
from dlcore.train import mesh as mesh_lib, supervised  # noqa: E402
from dlcore.train.loop import LoopSettings  # noqa: E402
from dlcore.train.state import MODEL, TrainState  # noqa: E402
from dlcore.train.step import (DEFAULT_STREAMS, compile_train_step, global_norm,  # noqa: E402
                               keep_if_finite, make_train_step, step_rngs)
from experiments import classification  # noqa: E402
from launch.cli import load_config_file  # noqa: E402

CONFIGS = {"mlp": "configs/mnist_mlp.py", "cnn": "configs/mnist_cnn.py"}
# MNIST facts for the no-data fallback (mean/std of the 60,000 training images, 0..255 units).
MNIST_INFO = DatasetInfo(name="mnist", task="multiclass", num_classes=10, input_shape=(28, 28, 1),
                         input_dtype="uint8", mean=(33.32,), std=(78.57,))
MNIST_NUM_TRAIN = 60000
TARGET = 0.97


# ---------------------------------------------------------------------------------------------
# Shared with benchmarks/input_pipeline.py


def add_common_args(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both",
                      help="mlp = configs/mnist_mlp.py, cnn = configs/mnist_cnn.py (SimpleCNN)")
  parser.add_argument("--batch_size", type=int, default=128)
  parser.add_argument("--steps", type=int, default=200, help="timed steps per repeat")
  parser.add_argument("--warmup", type=int, default=20, help="untimed steps before each repeat")
  parser.add_argument("--repeats", type=int, default=5, help="median over this many repeats")
  parser.add_argument("--devices", type=int, default=0, help="mesh size (0 = all devices)")
  parser.add_argument("--data_dir", default="",
                      help=f"dir holding mnist/ (default ${ENV_DATA_DIR}, then ../shared/data)")


def model_names(arg: str) -> list[str]:
  return ["mlp", "cnn"] if arg == "both" else [arg]


def find_data_dir(explicit: str = "") -> pathlib.Path | None:
  """--data_dir, else $DLCORE_DATA_DIR, else <repo>/../shared/data; None without mnist/."""
  candidates = [explicit] if explicit else [os.environ.get(ENV_DATA_DIR, ""),
                                            str(REPO.parent / "shared" / "data")]
  for c in candidates:
    if c and (pathlib.Path(c) / "mnist").is_dir():
      return pathlib.Path(c)
  return None


def load_config(model: str, batch_size: int, devices: int, data_dir: pathlib.Path | None):
  config = load_config_file(str(REPO / CONFIGS[model]))
  config.train.batch_size = batch_size
  config.eval.batch_size = batch_size  # build() checks it divides over the mesh; unused here
  config.mesh.num_devices = devices
  config.train.progress = False
  if data_dir is not None:
    config.data.data_dir = str(data_dir)
  return config


@dataclasses.dataclass
class Bench:
  """Everything both sides need, built the way experiments/classification.py builds it."""
  model_name: str
  config: Any
  mesh: Any
  model: Any
  state: TrainState
  loss_fn: Callable        # the step's loss_fn(params, state, batch, rngs) of the objective
  info: DatasetInfo
  num_steps: int           # the schedule's length (config epochs x steps/epoch)
  host_batch: dict         # one numpy batch: uint8 images, int32 labels, float32 mask
  dataset: Any = None      # the real Dataset (None in the no-data fallback)
  loader: TrainLoader | None = None
  real_data: bool = False


def random_batch(batch_size: int, seed: int = 0, info: DatasetInfo = MNIST_INFO) -> dict:
  rng = np.random.default_rng(seed)
  return {"inputs": rng.integers(0, 256, (batch_size,) + tuple(info.input_shape), np.uint8),
          "label": rng.integers(0, info.num_classes, (batch_size,)).astype(np.int32),
          "mask": np.ones((batch_size,), np.float32)}


def initial_state(init: Callable, seed: int, mesh) -> TrainState:
  """`init(PRNGKey(seed))` replicated on `mesh`, as `dlcore.train.loop.initial_state` places it."""
  return jax.jit(init, out_shardings=mesh_lib.replicated(mesh))(jax.random.PRNGKey(seed))


def build(model_name: str, batch_size: int, devices: int, data_dir: pathlib.Path | None) -> Bench:
  """classification.build(config) when MNIST is present; else the same pieces with MNIST_INFO
  and a random batch."""
  config = load_config(model_name, batch_size, devices, data_dir)
  if data_dir is not None:
    c = classification.build(config)
    train = c.data.dataset.split("train")
    host_batch = next(TrainLoader(train, batch_size, seed=1234))  # not c.data.loader: fresh
    return Bench(model_name, config, c.mesh, c.model,
                 initial_state(c.init, int(config.seed), c.mesh),
                 classification.train_loss(c.objective), c.data.info, c.settings.num_steps,
                 host_batch, c.data.dataset, c.data.loader, True)

  # No data: mirror classification.build() piece by piece.
  mesh = mesh_lib.make_mesh(int(config.mesh.num_devices))
  mesh_lib.check_batch_size(batch_size, mesh, "batch_size")
  info = MNIST_INFO
  num_steps = LoopSettings.from_config(config, MNIST_NUM_TRAIN // batch_size).num_steps
  model = build_model(config.model, info.num_classes)
  preprocess = make_preprocess(config.data, info)
  tx, _ = build_optimizer(config.optimizer, num_steps)
  sample = preprocess({"inputs": jnp.zeros((2,) + info.input_shape, jnp.uint8),
                       "label": jnp.zeros((2,), jnp.int32), "mask": jnp.ones((2,), jnp.float32)})
  init = supervised.model_init(model, tx, sample["inputs"])
  loss_fn = classification.train_loss(classification.make_loss_fn(config, model, preprocess))
  return Bench(model_name, config, mesh, model, initial_state(init, int(config.seed), mesh),
               loss_fn, info, num_steps, random_batch(batch_size))


def fresh_copy(tree, mesh):
  """A replicated copy with its own buffers (each donating runner needs its own)."""
  return mesh_lib.replicate(jax.device_get(tree), mesh)


class DlcoreRunner:
  """Calls a compiled dlcore train step n times, threading the state; batches from `next_batch`."""

  def __init__(self, step_fn: Callable, state: TrainState, next_batch: Callable[[], dict]):
    self.step_fn, self.state, self.next_batch = step_fn, state, next_batch

  def run(self, n: int) -> None:
    step_fn, state, next_batch = self.step_fn, self.state, self.next_batch
    for _ in range(n):
      state, _ = step_fn(state, next_batch())
    jax.block_until_ready(state)
    self.state = state


def measure(runners: dict[str, Any], steps: int, warmup: int, repeats: int) -> dict[str, list]:
  """steps/s of each runner per repeat; runners alternate within each repeat (less drift)."""
  rates: dict[str, list[float]] = {name: [] for name in runners}
  for _ in range(repeats):
    for name, runner in runners.items():
      if warmup:
        runner.run(warmup)
      t0 = time.perf_counter()
      runner.run(steps)
      rates[name].append(steps / (time.perf_counter() - t0))
  return rates


def environment_line(mesh, batch_size: int) -> str:
  return (f"jax {jax.__version__} | {mesh_lib.describe(mesh)} | batch_size {batch_size} | "
          f"python {sys.version.split()[0]} | {os.cpu_count()} CPU cores")


def print_table(title: str, rates: dict[str, list[float]], reference: str | None = None,
                unit: str = "steps/s") -> None:
  """Median, time per item and every repeat of each implementation (x = relative to reference)."""
  per = {"steps/s": "step", "batches/s": "batch"}.get(unit, "item")
  width = max(len("implementation"), *(len(n) for n in rates))
  if title:
    print(title)
  print(f"  {'implementation':<{width}} {'median ' + unit:>16} {'ms/' + per:>9}  all repeats")
  for name, values in rates.items():
    med = statistics.median(values)
    rel = (f"  ({med / statistics.median(rates[reference]):.3f}x)"
           if reference and name != reference else "")
    print(f"  {name:<{width}} {med:>16.1f} {1000 / med:>9.3f}  "
          f"{' '.join(f'{v:.1f}' for v in values)}{rel}")


def verdict(ratio: float, target: float) -> str:
  return "PASS" if ratio >= target else "FAIL"


# ---------------------------------------------------------------------------------------------
# The hand-written reference


def make_hand_step(model, info: DatasetInfo, flatten: bool, tx: optax.GradientTransformation,
                   dropout_key: jax.Array) -> Callable:
  """The minimal jitted step: (params, opt_state, step, batch) -> (params, opt_state, step+1,
  loss). Standardises with the train mean/std as data.normalize='standardize' does."""
  mean = np.asarray(info.mean, np.float32)
  std = np.asarray(info.std, np.float32)

  def loss_fn(params, images, labels, rng):
    x = (images.astype(jnp.float32) - mean) / std
    if flatten:
      x = x.reshape(x.shape[0], -1)
    logits = model.apply({"params": params}, x, train=True, rngs={"dropout": rng})
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(params, opt_state, step_no, batch):
    rng = jax.random.fold_in(dropout_key, step_no)
    loss, grads = jax.value_and_grad(loss_fn)(params, batch["inputs"], batch["label"], rng)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, step_no + 1, loss

  return step


class HandRunner:
  def __init__(self, step_fn: Callable, params, opt_state, step_no, batch: dict):
    self.step_fn, self.params, self.opt_state, self.step_no = step_fn, params, opt_state, step_no
    self.batch = batch

  def run(self, n: int) -> None:
    step_fn, params, opt_state, step_no, batch = (self.step_fn, self.params, self.opt_state,
                                                  self.step_no, self.batch)
    for _ in range(n):
      params, opt_state, step_no, _ = step_fn(params, opt_state, step_no, batch)
    jax.block_until_ready(params)
    self.params, self.opt_state, self.step_no = params, opt_state, step_no


def hand_optimizer(config, num_steps: int) -> optax.GradientTransformation:
  """optax.adam on the same schedule and hyper-parameters as dlcore's build_optimizer."""
  opt = config.optimizer
  if opt.name != "adam" or float(opt.get("grad_clip_norm", 0.0) or 0.0) > 0:
    raise SystemExit(f"the hand-written side implements plain Adam; config has "
                     f"optimizer {opt.name!r} with grad_clip_norm={opt.get('grad_clip_norm')}")
  return optax.adam(build_schedule(opt, num_steps), b1=opt.get("b1", 0.9),
                    b2=opt.get("b2", 0.999), eps=opt.get("eps", 1e-8))


# ---------------------------------------------------------------------------------------------
# Ablations of dlcore's step (same structure as dlcore.train.step.make_train_step, parts removed)


def make_variant_step(loss_fn, nan_guard: bool = True, grad_norm: bool = True,
                      metrics: bool = True, streams=DEFAULT_STREAMS) -> Callable:
  """dlcore's train step (`dlcore.train.step.make_train_step` for one part, no `collect`) with
  parts removed, to locate overheads. With nothing removed it computes exactly what
  `make_train_step(loss_fn)` does (`check_variant_mirrors`).

  nan_guard=False: no finiteness test of the gradient and update norms and no `keep_if_finite`
  (the step always advances; `nonfinite_step` still records a NaN/Inf loss, or gradient norm
  when it is computed). grad_norm=False: no `grad_norm` metric (the guard, when kept, still
  needs the norm). metrics=False: none of the loss function's metrics are returned.
  """

  def train_step(state: TrainState, batch: Any, *args: Any):
    rngs = step_rngs(state.rng, state.step, streams)
    part = state.part(MODEL)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, aux), grads = grad_fn(part.params, state, batch, rngs, *args)
    updates, opt_state = part.tx.update(grads, part.opt_state, part.params)
    gnorm = global_norm(grads) if (grad_norm or nan_guard) else None
    finite = (state.nonfinite_step < 0) & jnp.isfinite(loss)
    if gnorm is not None:
      finite = finite & jnp.isfinite(gnorm)
    if nan_guard:
      finite = finite & jnp.isfinite(global_norm(updates))
    new = state.replace_part(MODEL, params=optax.apply_updates(part.params, updates),
                             opt_state=opt_state,
                             model_state=aux.get("model_state", part.model_state))
    if "extra" in aux:
      new = new.replace(extra=aux["extra"])
    if nan_guard:  # the real guard (lax.cond on CPU, fused select on GPU/TPU)
      parts, extra = keep_if_finite(finite, (new.parts, new.extra), (state.parts, state.extra))
      step = state.step + finite.astype(state.step.dtype)
    else:
      parts, extra, step = new.parts, new.extra, state.step + 1
    out = dict(aux["metrics"]) if metrics else {}
    if grad_norm:
      out["grad_norm"] = Average(gnorm, jnp.ones((), jnp.float32))
    new_state = state.replace(
        parts=parts, extra=extra, step=step,
        nonfinite_step=jnp.where((state.nonfinite_step < 0) & ~finite, state.step,
                                 state.nonfinite_step))
    return new_state, (PackedAverages.pack(out) if out else out)

  return train_step


def check_variant_mirrors(loss_fn, state: TrainState, batch: dict, n: int = 3) -> float:
  """n steps of `make_variant_step(loss_fn)` (nothing removed) and of `make_train_step(loss_fn)`
  from the same state: every array of the states and the metrics must be bitwise equal (else
  SystemExit: the ablations would no longer measure dlcore's step). Returns 0.0."""
  a = b = jax.device_get(state)
  variant, real = jax.jit(make_variant_step(loss_fn)), jax.jit(make_train_step(loss_fn))
  for i in range(n):
    a, ma = variant(a, batch)
    b, mb = real(b, batch)
    for what, x, y in (("state", a, b), ("metrics", ma.unpack(), mb.unpack())):
      same = jax.tree.map(lambda u, v: bool(np.array_equal(np.asarray(u), np.asarray(v),
                                                           equal_nan=True)), x, y)
      if jax.tree.structure(x) != jax.tree.structure(y) or not all(jax.tree.leaves(same)):
        raise SystemExit(f"make_variant_step (nothing removed) differs from make_train_step in "
                         f"its {what} after step {i + 1}: update benchmarks/"
                         f"train_step_overhead.py to mirror dlcore/train/step.py")
  return 0.0


ABLATIONS = {
    "dlcore - NaN guard": dict(nan_guard=False),
    "dlcore - grad_norm metric": dict(grad_norm=False),
    "dlcore - all metrics": dict(grad_norm=False, metrics=False),
    "dlcore - guard - metrics": dict(nan_guard=False, grad_norm=False, metrics=False),
}


# ---------------------------------------------------------------------------------------------


def check_same_computation(b: Bench, dl_step, hand_step, hand_runner: HandRunner,
                           dl_state: TrainState, batch: dict, n: int = 3) -> tuple[float, Any]:
  """Run n steps of both from the same start; max |loss difference| (also compiles both)."""
  dl_losses, hand_losses = [], []
  state = dl_state
  for _ in range(n):
    state, metrics = dl_step(state, batch)
    dl_losses.append(metrics.unpack()["loss"] if isinstance(metrics, PackedAverages)
                     else metrics["loss"])
    hand_runner.params, hand_runner.opt_state, hand_runner.step_no, loss = hand_step(
        hand_runner.params, hand_runner.opt_state, hand_runner.step_no, batch)
    hand_losses.append(loss)
  dl = [float(m.total) / float(m.count) for m in jax.device_get(dl_losses)]
  hd = [float(v) for v in jax.device_get(hand_losses)]
  return max(abs(a - c) for a, c in zip(dl, hd)), state


def bench_model(model_name: str, args, data_dir: pathlib.Path | None) -> float:
  b = build(model_name, args.batch_size, args.devices, data_dir)
  if b.state.model_state:
    raise SystemExit(f"{model_name}: the hand-written side has no mutable model state "
                     f"(BatchNorm); got {list(b.state.model_state)}")
  batch = mesh_lib.put_batch(b.host_batch, b.mesh)  # once: both sides read the same device batch

  dl_step = compile_train_step(make_train_step(b.loss_fn), b.mesh)
  tx = hand_optimizer(b.config, b.num_steps)
  hand_params = fresh_copy(b.state.params, b.mesh)
  hand_runner = HandRunner(
      make_hand_step(b.model, b.info, bool(b.config.data.get("flatten", False)), tx,
                     np.asarray(jax.device_get(b.state.rng))),  # host copy: state is donated
      hand_params, fresh_copy(tx.init(hand_params), b.mesh),
      mesh_lib.replicate(np.zeros((), np.int32), b.mesh), batch)

  if args.ablate:
    check_variant_mirrors(b.loss_fn, b.state, batch)
    print("   make_variant_step with nothing removed == make_train_step (3 steps, bitwise)")
  ablation_states = {name: fresh_copy(b.state, b.mesh) for name in ABLATIONS} if args.ablate \
      else {}
  diff, dl_state = check_same_computation(b, dl_step, hand_runner.step_fn, hand_runner, b.state,
                                          batch)
  runners: dict[str, Any] = {
      "dlcore": DlcoreRunner(dl_step, dl_state, lambda: batch),
      "hand-written jax.jit": hand_runner,
  }
  for name, st in ablation_states.items():
    step = compile_train_step(make_variant_step(b.loss_fn, **ABLATIONS[name]), b.mesh)
    runners[name] = DlcoreRunner(step, st, lambda: batch)

  rates = measure(runners, args.steps, args.warmup, args.repeats)
  dl = statistics.median(rates["dlcore"])
  hand = statistics.median(rates["hand-written jax.jit"])
  ratio = dl / hand
  data = "MNIST train batch" if b.real_data else "random uint8 batch: no MNIST or --no_data"
  params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(b.state.params))
  print()
  print(f"== train step overhead: {model_name} ({b.model.__class__.__name__}, {params:,} params,"
        f" {data}) ==")
  print(f"   {environment_line(b.mesh, args.batch_size)}")
  print(f"   {args.repeats} repeats x {args.steps} steps (+{args.warmup} warmup); same "
        f"computation check: max |loss diff| over 3 steps = {diff:.2e}")
  print_table("", rates, reference="hand-written jax.jit")
  best = max(rates["dlcore"]) / max(rates["hand-written jax.jit"])
  print(f"  ratio dlcore / hand-written = {ratio:.4f}   target >= {TARGET}   "
        f"{verdict(ratio, TARGET)}   (ratio of best repeats {best:.4f})")
  print(f"RESULT train_step_ratio model={model_name} ratio={ratio:.4f}", flush=True)
  return ratio


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  add_common_args(parser)
  parser.add_argument("--ablate", action="store_true",
                      help="also time dlcore-step variants without the NaN guard / metrics")
  parser.add_argument("--no_data", action="store_true",
                      help="ignore MNIST even when present: MNIST-shaped random batch")
  args = parser.parse_args(argv)
  if min(args.batch_size, args.steps, args.repeats) < 1 or args.warmup < 0:
    parser.error("--batch_size, --steps, --repeats must be >= 1 and --warmup >= 0")
  data_dir = None if args.no_data else find_data_dir(args.data_dir)
  if args.data_dir and not args.no_data and data_dir is None:
    parser.error(f"--data_dir {args.data_dir} has no mnist/ folder")
  for name in model_names(args.model):
    bench_model(name, args, data_dir)
  return 0


if __name__ == "__main__":
  sys.exit(main())
