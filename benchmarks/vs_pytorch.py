"""dlcore's SimpleCNN train step vs the same model in PyTorch eager, on this machine's CPU.

  python -m benchmarks.vs_pytorch [--torch_python PATH] [--steps 50] [--repeats 3]

The dlcore side is the real compiled train step (`make_train_step(train_loss(objective))` of
`experiments.classification`, built as `benchmarks.train_step_overhead.build` does: adam, batch
128, MNIST-shaped random batch). The PyTorch side runs in a separate interpreter given by
--torch_python (PyTorch is not a dlcore dependency; e.g. a Python 3.11 venv with
`pip install torch==2.13.0`). Prints steps/s for both and the ratio dlcore/PyTorch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time

TORCH_SCRIPT = textwrap.dedent("""
    import json, sys, time, torch, torch.nn as nn
    steps, repeats, batch = map(int, sys.argv[1:4])
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
                      nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                      nn.Linear(64 * 7 * 7, 10))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    def step():
      opt.zero_grad(); loss = loss_fn(m(x), y); loss.backward(); opt.step(); return loss
    for _ in range(5): step()
    rates = []
    for _ in range(repeats):
      t = time.perf_counter()
      for _ in range(steps): step()
      rates.append(steps / (time.perf_counter() - t))
    print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(),
                      "rates": rates}))
""")


def dlcore_rates(steps: int, repeats: int, batch: int) -> list[float]:
  import jax

  from benchmarks.train_step_overhead import build  # the same pieces as the trainer
  from dlcore.train import mesh as mesh_lib
  from dlcore.train.step import compile_train_step, make_train_step
  b = build("cnn", batch, 1, None)  # MNIST-shaped random batch, no data needed
  step = compile_train_step(make_train_step(b.loss_fn), b.mesh)
  state, device_batch = b.state, mesh_lib.put_batch(b.host_batch, b.mesh)
  for _ in range(5):
    state, metrics = step(state, device_batch)
  jax.block_until_ready(state)
  rates = []
  for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(steps):
      state, metrics = step(state, device_batch)
    jax.block_until_ready(state)
    rates.append(steps / (time.perf_counter() - t))
  return rates


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--torch_python", default="", help="interpreter with torch installed")
  p.add_argument("--steps", type=int, default=50)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--batch_size", type=int, default=128)
  a = p.parse_args()
  ours = dlcore_rates(a.steps, a.repeats, a.batch_size)
  print(f"dlcore  SimpleCNN adam batch {a.batch_size}: median {statistics.median(ours):.1f} "
        f"steps/s  (repeats {', '.join(f'{r:.1f}' for r in ours)})")
  if not a.torch_python:
    print("PyTorch: skipped (pass --torch_python PATH to an interpreter with torch)")
    return
  out = subprocess.run([a.torch_python, "-c", TORCH_SCRIPT, str(a.steps), str(a.repeats),
                        str(a.batch_size)], capture_output=True, text=True, check=True)
  torch = json.loads(out.stdout.strip().splitlines()[-1])
  print(f"PyTorch {torch['version']} eager ({torch['threads']} threads): median "
        f"{statistics.median(torch['rates']):.1f} steps/s  (repeats "
        f"{', '.join(f'{r:.1f}' for r in torch['rates'])})")
  ratio = statistics.median(ours) / statistics.median(torch["rates"])
  print(f"RESULT vs_pytorch model=cnn ratio={ratio:.3f}")


if __name__ == "__main__":
  sys.exit(main())
