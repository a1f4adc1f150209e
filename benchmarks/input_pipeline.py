"""The real MNIST input pipeline feeding dlcore's train step vs device-resident synthetic batches.

  DLCORE_DATA_DIR=../shared/data python -m benchmarks.input_pipeline [--model mlp|cnn|both]
      [--batch_size 128] [--steps 200] [--warmup 20] [--repeats 5] [--devices 0]
      [--loader_batches 1000] [--synthetic_batches 8]

Device-resident (the loop's default for in-memory data up to 1 GiB, `dlcore.train.resident`):
the training arrays on the device once, `IndexBatches(TrainLoader(...))` -> `Prefetcher` ->
the step that gathers its rows by index. Host batches (`data.device_resident=False`, the path
of large or streamed data): `TrainLoader(dataset.split('train'), B, seed)` ->
`Prefetcher(loader, put_batch, size=2)` -> `train_step(state, next(it))`. Both exactly as
dlcore/train/loop.py feeds batches (a new Prefetcher per repeat, over the same loader, so no
queue fills while another side runs).
Synthetic: K batches (uint8 images, int32 labels, float32 mask, same shapes) put on the device
once and cycled through the same compiled step. Repeats alternate; median steps/s; target
device-resident / synthetic >= 0.95 (the host-batch ratio is printed too).

"Loader alone" (host only, no device): batches/s of TrainLoader iteration vs grain 0.2 MapDataset
pipelines over the same in-memory arrays: per-record source -> shuffle -> repeat -> batch, with
grain's default read threads and with none, and an index-batch variant (shuffle indices, batch
them, one np.take per array per batch -- TrainLoader's strategy in grain).

Needs MNIST: --data_dir, else $DLCORE_DATA_DIR, else ../shared/data; exits 2 with a one-line
error otherwise. Prints `RESULT input_pipeline model=<m> ratio=<r>` per model; exits 0 whatever
the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import statistics
import sys
import time
from typing import Any, Callable, Sequence

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # also runnable as `python benchmarks/input_pipeline.py`
  sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.train_step_overhead import (DlcoreRunner, add_common_args, build,  # noqa: E402
                                            environment_line, find_data_dir, measure,
                                            model_names, print_table, random_batch, verdict)
from benchmarks.train_step_overhead import load_config  # noqa: E402
from dlcore.data.base import ENV_DATA_DIR, load_dataset  # noqa: E402
from dlcore.data.loader import IndexBatches, TrainLoader  # noqa: E402
from dlcore.data.prefetch import Prefetcher  # noqa: E402
from dlcore.train import mesh as mesh_lib, resident as resident_lib  # noqa: E402
from dlcore.train.resident import gather_step  # noqa: E402
from dlcore.train.step import compile_train_step, make_train_step  # noqa: E402

TARGET = 0.95


class PipelineRunner:
  """TrainLoader -> Prefetcher(put_batch, size=2) -> train_step, as in dlcore.train.loop.run;
  with `resident` arrays (on the device), the loop's device-resident path: the loader's row
  indices -> Prefetcher -> the gathering step (`dlcore.train.resident`)."""

  def __init__(self, step_fn: Callable, state, loader: TrainLoader, mesh, resident=None):
    self.step_fn, self.state, self.loader, self.mesh = step_fn, state, loader, mesh
    self.args = () if resident is None else (resident,)
    self.batches: Prefetcher | None = None

  def start(self) -> None:
    source = self.loader if not self.args else IndexBatches(self.loader)
    self.batches = Prefetcher(source, lambda b: mesh_lib.put_batch(b, self.mesh), size=2)

  def stop(self) -> None:
    if self.batches is not None:
      self.batches.close()
      # The thread may have pulled batches the consumer never saw; resume where it left off.
      self.loader.set_state(self.batches.get_state())
      self.batches = None

  def run(self, n: int) -> None:
    step_fn, state, batches, args = self.step_fn, self.state, self.batches, self.args
    for _ in range(n):
      state, _ = step_fn(state, next(batches), *args)
    jax.block_until_ready(state)
    self.state = state


class SyntheticRunner(DlcoreRunner):
  def __init__(self, step_fn: Callable, state, device_batches: Sequence[dict]):
    cycle = itertools.cycle(device_batches)
    super().__init__(step_fn, state, lambda: next(cycle))


class _Alternating:
  """measure() calls run(warmup) then run(steps); start the prefetcher before the warmup and
  stop it after the timed part so it never runs while the other side is timed."""

  def __init__(self, runner: PipelineRunner):
    self.runner, self.calls = runner, 0

  def run(self, n: int) -> None:
    if self.calls % 2 == 0:
      self.runner.start()
    try:
      self.runner.run(n)
    finally:
      self.calls += 1
      if self.calls % 2 == 0:
        self.runner.stop()


# ---------------------------------------------------------------------------------------------
# Loader alone (host only)


class _Records:
  """A random-access source of per-example records over the in-memory arrays."""

  def __init__(self, arrays: dict[str, np.ndarray]):
    self.arrays = arrays
    self.n = int(next(iter(arrays.values())).shape[0])

  def __len__(self) -> int:
    return self.n

  def __getitem__(self, i) -> dict[str, np.ndarray]:
    return {k: v[i] for k, v in self.arrays.items()}


def _add_mask(batch: dict) -> dict:
  return dict(batch, mask=np.ones((batch["label"].shape[0],), np.float32))


def grain_iterators(arrays: dict[str, np.ndarray], batch_size: int, seed: int) -> dict[str, Any]:
  """name -> zero-arg factory of an infinite iterator of batches like TrainLoader's."""
  import grain  # grain 0.2.x: MapDataset API

  def per_record(read_options):
    def make():
      ds = (grain.MapDataset.source(_Records(arrays)).shuffle(seed=seed).repeat()
            .batch(batch_size, drop_remainder=True).map(_add_mask))
      return iter(ds.to_iter_dataset(read_options))
    return make

  def index_batch():
    def gather(idx):
      return _add_mask({k: np.take(v, idx, axis=0) for k, v in arrays.items()})
    ds = (grain.MapDataset.range(len(_Records(arrays))).shuffle(seed=seed).repeat()
          .batch(batch_size, drop_remainder=True).map(gather))
    return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)))

  return {
      "grain per-record, default ReadOptions (16 threads)": per_record(grain.ReadOptions()),
      "grain per-record, num_threads=0": per_record(
          grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)),
      "grain index-batch + np.take, num_threads=0": index_batch,
  }


def loader_alone(arrays: dict[str, np.ndarray], batch_size: int, num_batches: int,
                 repeats: int, seed: int = 0) -> dict[str, list[float]]:
  """batches/s of each host iterator; each repeat makes a fresh iterator (after 5 untimed
  batches, so thread start-up is excluded) and pulls `num_batches`."""
  factories: dict[str, Callable[[], Any]] = {
      "dlcore TrainLoader": lambda: iter(TrainLoader(arrays, batch_size, seed=seed))}
  factories.update(grain_iterators(arrays, batch_size, seed))
  rates: dict[str, list[float]] = {name: [] for name in factories}
  for _ in range(repeats):
    for name, factory in factories.items():
      it = factory()
      for _ in range(5):
        next(it)
      t0 = time.perf_counter()
      for _ in range(num_batches):
        next(it)
      rates[name].append(num_batches / (time.perf_counter() - t0))
      close = getattr(it, "close", None)
      if close is not None:
        close()
      del it
  return rates


# ---------------------------------------------------------------------------------------------


def bench_model(model_name: str, args, data_dir: pathlib.Path) -> float:
  b = build(model_name, args.batch_size, args.devices, data_dir)
  step_fn = compile_train_step(make_train_step(b.loss_fn), b.mesh)
  synthetic = [mesh_lib.put_batch(random_batch(args.batch_size, seed=i, info=b.info), b.mesh)
               for i in range(args.synthetic_batches)]
  pipeline = PipelineRunner(step_fn, b.state, b.loader, b.mesh)
  # Compile once (on a synthetic batch; the pipeline's batches have the same shapes/shardings).
  state, _ = step_fn(b.state, synthetic[0])
  pipeline.state = state
  fresh = lambda: jax.device_put(jax.device_get(state), mesh_lib.replicated(b.mesh))
  gather = compile_train_step(gather_step(make_train_step(b.loss_fn)), b.mesh, num_args=1)
  resident = PipelineRunner(gather, fresh(), TrainLoader(b.loader.arrays, args.batch_size, 1),
                            b.mesh, resident_lib.put_arrays(b.loader.arrays, b.mesh))
  runners = {"MNIST device-resident (the loop's default)": _Alternating(resident),
             f"synthetic ({args.synthetic_batches} on device)":
             SyntheticRunner(step_fn, fresh(), synthetic),
             "MNIST TrainLoader->Prefetcher (host batches)": _Alternating(pipeline)}
  try:
    rates = measure(runners, args.steps, args.warmup, args.repeats)
  finally:
    pipeline.stop()
    resident.stop()
  names = list(rates)
  real, synth = statistics.median(rates[names[0]]), statistics.median(rates[names[1]])
  ratio = real / synth
  host = statistics.median(rates[names[2]]) / synth
  print()
  print(f"== input pipeline: {model_name} ({b.model.__class__.__name__}, MNIST train "
        f"{b.loader.num_examples:,} examples, {b.loader.steps_per_epoch} batches/epoch) ==")
  print(f"   {environment_line(b.mesh, args.batch_size)}")
  print(f"   {args.repeats} repeats x {args.steps} steps (+{args.warmup} warmup), steps/s of "
        f"the train step fed by each source")
  print_table("", rates, reference=names[1])
  best = max(rates[names[0]]) / max(rates[names[1]])
  print(f"  ratio device-resident / synthetic = {ratio:.4f}   target >= {TARGET}   "
        f"{verdict(ratio, TARGET)}   (ratio of best repeats {best:.4f}); host batches / "
        f"synthetic = {host:.4f}")
  print(f"RESULT input_pipeline model={model_name} ratio={ratio:.4f} host_ratio={host:.4f}",
        flush=True)
  return ratio


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  add_common_args(parser)
  parser.add_argument("--loader_batches", type=int, default=1000,
                      help="batches per repeat in the loader-alone section (0 = skip it)")
  parser.add_argument("--synthetic_batches", type=int, default=8,
                      help="K device-resident batches cycled on the synthetic side")
  args = parser.parse_args(argv)
  if min(args.batch_size, args.steps, args.repeats, args.synthetic_batches) < 1 or \
      args.warmup < 0 or args.loader_batches < 0:
    parser.error("--batch_size, --steps, --repeats, --synthetic_batches must be >= 1; "
                 "--warmup, --loader_batches >= 0")
  data_dir = find_data_dir(args.data_dir)
  if data_dir is None:
    where = (f"--data_dir {args.data_dir}" if args.data_dir else
             f"${ENV_DATA_DIR} and {REPO.parent / 'shared' / 'data'}")
    print(f"error: MNIST not found: set {ENV_DATA_DIR} (or --data_dir) to a directory holding "
          f"mnist/ (checked {where})", file=sys.stderr)
    return 2

  for name in model_names(args.model):
    bench_model(name, args, data_dir)

  if args.loader_batches:
    config = load_config("mlp", args.batch_size, args.devices, data_dir)
    arrays = load_dataset(config.data).split("train")
    rates = loader_alone(arrays, args.batch_size, args.loader_batches, args.repeats)
    print()
    print(f"== loader alone (host only): MNIST train {arrays['label'].shape[0]:,} examples, "
          f"batch_size {args.batch_size}, {args.repeats} repeats x {args.loader_batches} "
          f"batches ==")
    print_table("", rates, reference="dlcore TrainLoader", unit="batches/s")
    base = statistics.median(rates["dlcore TrainLoader"])
    for name, values in rates.items():
      if name != "dlcore TrainLoader":
        print(f"RESULT loader_alone impl=\"{name}\" "
              f"trainloader_speedup={base / statistics.median(values):.2f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
