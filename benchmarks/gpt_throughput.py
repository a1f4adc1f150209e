"""GPT train-step throughput: tokens/s and model FLOPs utilisation (MFU).

  python -m benchmarks.gpt_throughput [--layers 4 --d_model 128 --heads 4 --context 64]
                                      [--batch 32] [--dtype float32|bfloat16] [--steps 20]
                                      [--peak_tflops P]

The step is the one the language-model trainer compiles for configs/shakespeare_gpt*.py: the
GPT of `dlcore.models` (pre-LN, GELU, tied embeddings, vocabulary 65), mean next-token cross
entropy, AdamW with clipping, under `jax.jit`. FLOPs per step come from XLA's cost analysis of
the compiled step (`jit(step).lower(...).compile().cost_analysis()['flops']`), with the usual
6 N T + 12 L T² d estimate (N non-embedding parameters, T tokens per step) printed alongside.

  tokens/s      batch x context / median step time (over `--repeats` timings of `--steps`)
  achieved      compiled FLOPs per step / step time
  mfu           achieved / peak: `--peak_tflops`, else the dense peak of a known accelerator
                (`dlcore.train.throughput.PEAK_TFLOPS`: H100/H200 bf16 989 TFLOP/s, A100 bf16
                312, ...); on a CPU without `--peak_tflops` it is not reported
  matmul_frac   achieved / the rate of one large (2048^3) matmul in the same dtype measured
                on the same device: the fraction of attainable dense throughput, on any device

The last line is `RESULT gpt tokens_per_s=... step_gflops=... achieved_tflops=... mfu=...
matmul_frac=...`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.models import build_model
from dlcore.train.throughput import compiled_flops, peak_tflops

def timed(fn, args, steps: int, repeats: int) -> float:
  """Median seconds per call over `repeats` runs of `steps` calls (after one warm-up run)."""
  out = fn(*args)
  jax.block_until_ready(out)
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(steps):
      out = fn(*args)
    jax.block_until_ready(out)
    times.append((time.perf_counter() - t) / steps)
  return statistics.median(times)


def matmul_tflops(dtype, repeats: int) -> float:
  n = 2048
  a = jnp.ones((n, n), dtype)
  f = jax.jit(lambda x: x @ x)
  return 2 * n ** 3 / timed(f, (a,), 5, repeats) / 1e12


def main(argv=None) -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--layers", type=int, default=4)
  p.add_argument("--d_model", type=int, default=128)
  p.add_argument("--heads", type=int, default=4)
  p.add_argument("--context", type=int, default=64)
  p.add_argument("--batch", type=int, default=32)
  p.add_argument("--vocab", type=int, default=65)
  p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
  p.add_argument("--steps", type=int, default=20)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--peak_tflops", type=float, default=0.0)
  a = p.parse_args(argv)
  dtype = jnp.dtype(a.dtype)
  model = build_model(dict(name="gpt", vocab_size=a.vocab, num_layers=a.layers,
                           num_heads=a.heads, d_model=a.d_model, max_len=a.context), a.vocab)
  rng = np.random.default_rng(0)
  tokens = jnp.asarray(rng.integers(0, a.vocab, (a.batch, a.context + 1)), jnp.int32)
  params = model.init(jax.random.key(0), tokens[:, :-1])["params"]
  params = jax.tree.map(lambda x: x.astype(dtype), params)
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3, b2=0.99,
                                                                weight_decay=0.1))
  opt_state = tx.init(params)

  def loss_fn(params, batch):
    logits, _ = model.apply({"params": params}, batch[:, :-1])
    return optax.softmax_cross_entropy_with_integer_labels(
        logits.astype(jnp.float32), batch[:, 1:]).mean()

  def step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  jitted = jax.jit(step, donate_argnums=(0, 1))
  compiled = jitted.lower(params, opt_state, tokens).compile()
  flops = compiled_flops(jitted, params, opt_state, tokens) or float("nan")  # the same program
  n_params = sum(x.size for x in jax.tree.leaves(params))
  n_embed = params["embedder"]["embed"]["embedding"].size + (
      params["embedder"]["position_table"].size if "position_table" in params["embedder"] else 0)
  t_tokens = a.batch * a.context
  estimate = 6 * (n_params - n_embed) * t_tokens + 12 * a.layers * a.batch * a.context ** 2 * \
      a.d_model

  state = {"params": params, "opt": opt_state}

  def run(batch):
    state["params"], state["opt"], loss = compiled(state["params"], state["opt"], batch)
    return loss

  seconds = timed(run, (tokens,), a.steps, a.repeats)
  achieved = flops / seconds / 1e12
  peak = peak_tflops(a.peak_tflops)
  mm = matmul_tflops(dtype, a.repeats)
  device = jax.devices()[0]
  print(f"device {device.platform} ({device.device_kind}); GPT {a.layers} layers, d_model "
        f"{a.d_model}, {a.heads} heads, context {a.context}, batch {a.batch}, {a.dtype}; "
        f"{n_params:,} parameters")
  print(f"step {seconds * 1e3:.2f} ms; compiled {flops / 1e9:.2f} GFLOP/step "
        f"(6NT + 12LT²d estimate {estimate / 1e9:.4f}); achieved {achieved:.3f} TFLOP/s; "
        f"2048³ matmul {mm:.3f} TFLOP/s")
  mfu = f"{achieved / peak:.3f}" if peak else "nan"
  print(f"RESULT gpt tokens_per_s={t_tokens / seconds:.0f} step_gflops={flops / 1e9:.4f} "
        f"achieved_tflops={achieved:.4f} mfu={mfu} matmul_frac={achieved / mm:.3f}")


if __name__ == "__main__":
  main()
