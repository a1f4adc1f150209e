"""Training throughput (images/s) of a CNN-zoo model with dlcore's real train step on synthetic
ImageNet-shaped data; by default ResNet-50, batch 256, bfloat16 compute, 224x224x3, 1000 classes.

  python -m benchmarks.cnn_throughput [--model resnet] [--depth 50] [--batch_size 256]
      [--image_size 224] [--dtype bfloat16] [--steps 30] [--warmup 5] [--repeats 3] [--devices 0]

What is timed: `compile_train_step(make_train_step(train_loss(objective)), mesh)`, i.e. the step
the classification task gives the loop (the objective of `experiments.classification.make_loss_fn`:
on-device uint8 -> float preprocessing, cross-entropy, accuracy metric; the NaN guard and the
grad-norm metric of `dlcore.train.step.make_train_step`), with SGD + Nesterov
momentum 0.9 and a cosine schedule (the ResNet recipe), parameters float32 and compute in
`--dtype`. One device-resident uint8 batch is reused, so the figure is the model+optimizer step,
not the input pipeline. Each repeat runs `--warmup` untimed steps then `--steps` timed ones ending
with `jax.block_until_ready`; the median over repeats is reported.

On a CPU-only machine the defaults shrink to a size that runs in seconds (batch 8, 64x64 input,
3 steps) unless given explicitly; the figure is then only a smoke test.

Prints `RESULT cnn_throughput model=<name> images_per_s=<x> ...` plus a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # also runnable as `python benchmarks/cnn_throughput.py`
  sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402

from dlcore.data.base import DatasetInfo  # noqa: E402
from dlcore.data.preprocess import make_preprocess  # noqa: E402
from dlcore.models import build_model  # noqa: E402
from dlcore.optim import build_optimizer, optimizer_config  # noqa: E402
from dlcore.nn import count_params  # noqa: E402
from dlcore.train import mesh as mesh_lib  # noqa: E402
from dlcore.train.step import compile_train_step, make_train_step  # noqa: E402
from dlcore.train.supervised import model_init  # noqa: E402
from experiments.classification import make_loss_fn, train_loss  # noqa: E402

CPU_DEFAULTS = dict(batch_size=8, image_size=64, steps=3, warmup=1, repeats=1)


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", default="resnet")
  p.add_argument("--depth", type=int, default=50, help="for models with a depth field")
  p.add_argument("--batch_size", type=int)
  p.add_argument("--image_size", type=int)
  p.add_argument("--num_classes", type=int, default=1000)
  p.add_argument("--dtype", default="bfloat16")
  p.add_argument("--steps", type=int)
  p.add_argument("--warmup", type=int)
  p.add_argument("--repeats", type=int)
  p.add_argument("--devices", type=int, default=0, help="0 = all")
  args = p.parse_args(argv)
  small = jax.default_backend() == "cpu"
  gpu = dict(batch_size=256, image_size=224, steps=30, warmup=5, repeats=3)
  for key, value in (CPU_DEFAULTS if small else gpu).items():
    if getattr(args, key) is None:
      setattr(args, key, value)
  return args


def build(args):
  model_cfg = ml_collections.ConfigDict(dict(name=args.model, dtype=args.dtype))
  if args.model in ("resnet", "cifar_resnet", "vgg", "densenet"):
    model_cfg.depth = args.depth
  model = build_model(model_cfg, args.num_classes)
  mesh = mesh_lib.make_mesh(args.devices)
  mesh_lib.check_batch_size(args.batch_size, mesh, "--batch_size")
  size = args.image_size
  info = DatasetInfo(name="synthetic_imagenet", task="multiclass", num_classes=args.num_classes,
                     input_shape=(size, size, 3), input_dtype="uint8",
                     mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
  config = ml_collections.ConfigDict(dict(
      loss=dict(name="cross_entropy", reduction="mean"), metrics=("accuracy",)))
  data_cfg = ml_collections.ConfigDict(dict(normalize="standardize"))
  preprocess = make_preprocess(data_cfg, info)
  opt = optimizer_config("nesterov", 0.1, schedule="cosine")
  tx, _ = build_optimizer(opt, args.steps * args.repeats + args.warmup * args.repeats)
  rng = np.random.default_rng(0)
  batch = {"inputs": rng.integers(0, 256, (args.batch_size, size, size, 3), dtype=np.uint8),
           "label": rng.integers(0, args.num_classes, (args.batch_size,), dtype=np.int32),
           "mask": np.ones((args.batch_size,), np.float32)}
  sample = preprocess({"inputs": jnp.asarray(batch["inputs"][:2])})["inputs"]
  state = jax.jit(model_init(model, tx, sample), out_shardings=mesh_lib.replicated(mesh))(
      jax.random.PRNGKey(0))
  step = compile_train_step(make_train_step(train_loss(make_loss_fn(config, model, preprocess))),
                            mesh)
  return model, mesh, state, step, mesh_lib.put_batch(batch, mesh)


def main(argv=None) -> dict:
  args = parse_args(argv)
  model, mesh, state, step, batch = build(args)
  start = time.perf_counter()
  state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  rates = []
  for _ in range(args.repeats):
    for _ in range(args.warmup):
      state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(args.steps):
      state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
    rates.append(args.steps * args.batch_size / (time.perf_counter() - start))
  if int(state.nonfinite_step) >= 0:
    raise SystemExit(f"non-finite loss at step {int(state.nonfinite_step)}")
  name = f"{args.model}{args.depth if 'depth' in model.__dataclass_fields__ else ''}"
  result = dict(model=name, images_per_s=round(statistics.median(rates), 1),
                rates=[round(r, 1) for r in rates], batch_size=args.batch_size,
                image_size=args.image_size, dtype=args.dtype, devices=mesh_lib.describe(mesh),
                params=count_params(state.params), first_step_s=round(compile_s, 1),
                jax=jax.__version__)
  print(f"RESULT cnn_throughput model={name} images_per_s={result['images_per_s']} "
        f"batch={args.batch_size} size={args.image_size} dtype={args.dtype}")
  print(json.dumps(result))
  return result


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  main()
