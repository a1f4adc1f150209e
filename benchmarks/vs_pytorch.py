"""dlcore's train steps vs the same models in PyTorch eager, on this machine's CPU.

  python -m benchmarks.vs_pytorch [--torch_python PATH] [--model cnn|mlp|lstm|all]
      [--steps 50] [--repeats 3] [--data_dir DIR]

Models (dlcore side = the real compiled train step of `experiments.classification`,
`make_train_step(train_loss(objective))`, built from the config as the trainer builds it):
  cnn   configs/mnist_cnn.py: SimpleCNN conv32-pool-conv64-pool, dropout 0.25, Dense 10; Adam,
        batch 128 of MNIST-shaped images;
  mlp   configs/mnist_mlp.py: 784-1024-1024-10 ReLU, dropout 0.2; Adam, batch 128;
  lstm  configs/sst2_lstm.py: embeddings 300 (SST-2 vocabulary) -> LSTM 256 -> final state at
        the true last step -> Dense 2, dropout 0.5; Adam with global-norm clipping at 1, batch 64
        of 32 tokens (needs SST-2 in the data dir for the vocabulary; skipped without it).
The PyTorch side (a separate interpreter given by --torch_python; PyTorch is not a dlcore
dependency, e.g. a Python 3.11 venv with `pip install torch==2.13.0`) builds the same layers,
loss and optimizer and trains on one fixed random batch of the same shape. Each side warms up,
then times `--repeats` runs of `--steps` steps; prints steps/s for both and, per model,
`RESULT vs_pytorch model=<m> ratio=<dlcore/PyTorch>`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import textwrap
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
  sys.path.insert(0, str(REPO))

MODELS = ("cnn", "mlp", "lstm")
LSTM_LENGTH = 32

TORCH_SCRIPT = textwrap.dedent("""
    import json, sys, time, torch, torch.nn as nn
    model, steps, repeats, batch, vocab, length = sys.argv[1], *map(int, sys.argv[2:7])
    torch.manual_seed(0)
    clip = 0.0
    if model == "cnn":
      m = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
                        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                        nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 10))
      x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    elif model == "mlp":
      m = nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(0.2), nn.Linear(1024, 10))
      x, y = torch.rand(batch, 784), torch.randint(0, 10, (batch,))
    else:
      class LSTMClassifier(nn.Module):
        def __init__(self):
          super().__init__()
          self.embed, self.drop = nn.Embedding(vocab, 300), nn.Dropout(0.5)
          self.lstm, self.out = nn.LSTM(300, 256, batch_first=True), nn.Linear(256, 2)
        def forward(self, tokens):
          _, (h, _) = self.lstm(self.drop(self.embed(tokens)))  # every row is full length
          return self.out(self.drop(h[-1]))
      m, clip = LSTMClassifier(), 1.0
      x, y = torch.randint(7, vocab, (batch, length)), torch.randint(0, 2, (batch,))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    def step():
      opt.zero_grad(); loss = loss_fn(m(x), y); loss.backward()
      if clip: nn.utils.clip_grad_norm_(m.parameters(), clip)
      opt.step(); return loss
    for _ in range(5): step()
    rates = []
    for _ in range(repeats):
      t = time.perf_counter()
      for _ in range(steps): step()
      rates.append(steps / (time.perf_counter() - t))
    print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(),
                      "rates": rates}))
""")


def lstm_bench(data_dir: pathlib.Path | None):
  """(loss_fn, state, mesh, host batch, vocabulary size) of configs/sst2_lstm.py, or None
  without SST-2. The batch is 64 rows of 32 random in-vocabulary tokens, all full length."""
  import numpy as np

  from benchmarks.train_step_overhead import initial_state
  from experiments import classification
  from launch.cli import load_config_file
  if data_dir is None or not (data_dir / "sst2").is_dir():
    return None
  config = load_config_file(str(REPO / "configs/sst2_lstm.py"))
  config.data.data_dir, config.mesh.num_devices, config.train.progress = str(data_dir), 1, False
  c = classification.build(config)
  vocab = int(c.model.vocab_size)
  rng = np.random.default_rng(0)
  batch_size = int(config.train.batch_size)
  batch = {"inputs": rng.integers(7, vocab, (batch_size, LSTM_LENGTH)).astype(np.int32),
           "lengths": np.full((batch_size,), LSTM_LENGTH, np.int32),
           "label": rng.integers(0, 2, (batch_size,)).astype(np.int32),
           "mask": np.ones((batch_size,), np.float32)}
  return (classification.train_loss(c.objective), initial_state(c.init, 0, c.mesh), c.mesh,
          batch, vocab)


def dlcore_rates(model: str, steps: int, repeats: int, batch: int,
                 data_dir: pathlib.Path | None) -> tuple[list[float], dict] | None:
  """steps/s of dlcore's compiled step per repeat, and the PyTorch side's shape arguments."""
  import jax

  from benchmarks.train_step_overhead import build  # the same pieces as the trainer
  from dlcore.train import mesh as mesh_lib
  from dlcore.train.step import compile_train_step, make_train_step
  if model == "lstm":
    built = lstm_bench(data_dir)
    if built is None:
      return None
    loss_fn, state, mesh, host_batch, vocab = built
    shape = dict(batch=host_batch["label"].shape[0], vocab=vocab, length=LSTM_LENGTH)
  else:
    b = build(model, batch, 1, data_dir)
    loss_fn, state, mesh, host_batch = b.loss_fn, b.state, b.mesh, b.host_batch
    shape = dict(batch=batch, vocab=0, length=0)
  step = compile_train_step(make_train_step(loss_fn), mesh)
  device_batch = mesh_lib.put_batch(host_batch, mesh)
  for _ in range(5):
    state, _ = step(state, device_batch)
  jax.block_until_ready(state)
  rates = []
  for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(steps):
      state, _ = step(state, device_batch)
    jax.block_until_ready(state)
    rates.append(steps / (time.perf_counter() - t))
  return rates, shape


def torch_rates(python: str, model: str, steps: int, repeats: int, shape: dict) -> dict:
  args = [str(v) for v in (steps, repeats, shape["batch"], shape["vocab"], shape["length"])]
  out = subprocess.run([python, "-c", TORCH_SCRIPT, model, *args], capture_output=True,
                       text=True)
  if out.returncode:
    raise SystemExit(f"the PyTorch side ({python}) failed:\n{out.stderr.strip()[-2000:]}")
  return json.loads(out.stdout.strip().splitlines()[-1])


def repeats_text(rates: list[float]) -> str:
  return f"median {statistics.median(rates):.1f} steps/s  (repeats " + ", ".join(
      f"{r:.1f}" for r in rates) + ")"


def main() -> None:
  from benchmarks.train_step_overhead import find_data_dir
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--torch_python", default="", help="interpreter with torch installed")
  p.add_argument("--model", choices=MODELS + ("all",), default="all")
  p.add_argument("--steps", type=int, default=50)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--batch_size", type=int, default=128, help="cnn and mlp (lstm: its config's)")
  p.add_argument("--data_dir", default="", help="default $DLCORE_DATA_DIR, then ../shared/data")
  a = p.parse_args()
  data_dir = find_data_dir(a.data_dir)
  for model in MODELS if a.model == "all" else (a.model,):
    measured = dlcore_rates(model, a.steps, a.repeats, a.batch_size, data_dir)
    if measured is None:
      print(f"dlcore  {model}: skipped (needs sst2/ in the data dir)")
      continue
    ours, shape = measured
    print(f"dlcore  {model} batch {shape['batch']}: {repeats_text(ours)}")
    if not a.torch_python:
      print(f"PyTorch {model}: skipped (pass --torch_python PATH to an interpreter with torch)")
      continue
    torch = torch_rates(a.torch_python, model, a.steps, a.repeats, shape)
    print(f"PyTorch {torch['version']} eager ({torch['threads']} threads) {model}: "
          f"{repeats_text(torch['rates'])}")
    ratio = statistics.median(ours) / statistics.median(torch["rates"])
    print(f"RESULT vs_pytorch model={model} ratio={ratio:.3f}", flush=True)


if __name__ == "__main__":
  sys.exit(main())
