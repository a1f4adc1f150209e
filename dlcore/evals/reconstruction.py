"""Evaluators of autoencoders (ARC-29 uses: reconstruction, generation, codes, anomaly detection).

`picture_factories` gives the `parse_evals` factories of experiments/autoencoder.py besides
'metrics'; each reads a split of images and a state, and writes PNGs under <workdir>/plots/:
  reconstructions  originals, the corrupted inputs (denoising), reconstructions (`images`);
  samples          decoded draws z ~ N(0, I) of a VAE (`rows` x `cols`, a fixed key);
  traversal        `traversal_codes` decoded: one latent unit per row (`units`, `steps`);
  scatter          the codes of `points` images in 2-D (raw when latent = 2, else `method`
                   'pca' or 'tsne'), coloured by class;
  anomaly          `anomaly_report` of the per-image losses (no file).
Formulas:
  anomaly_report: AUC = P(score of a held-out-class image > score of another image) + ½ P(tie)
    (`dlcore.metrics.roc_auc`, MET-7): 1 = every held-out image reconstructs worse, 0.5 = chance.
  traversal_codes: rows that vary one latent unit at a time from a base code (the first image's),
    the unit running from its 5% to its 95% quantile over the split's codes, the others fixed.
"""

from __future__ import annotations

import pathlib
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError
from dlcore.evals.split_metrics import predict_split
from dlcore.metrics.roc import roc_auc
from dlcore.viz.embeddings import METHODS, plot_embeddings, project_2d
from dlcore.viz.image_grid import plot_image_grid

OPTIONS = {"reconstructions": ("images",), "samples": ("rows", "cols"),
           "traversal": ("units", "steps"), "scatter": ("points", "method"), "anomaly": ()}
PICTURES = ("reconstructions", "samples", "traversal", "scatter")


def anomaly_report(scores: np.ndarray, labels: np.ndarray, held_out: int) -> dict[str, float]:
  """{'roc_auc', 'score_held_out', 'score_others'}: the AUC of `held_out` (label == held_out as
  the positive class) vs the rest by `scores`, and the mean score of each group."""
  scores = np.asarray(scores, np.float64).reshape(-1)
  positive = np.asarray(labels).reshape(-1) == held_out
  return {"roc_auc": roc_auc(scores, positive.astype(np.int32)),
          "score_held_out": float(scores[positive].mean()) if positive.any() else float("nan"),
          "score_others": float(scores[~positive].mean()) if (~positive).any() else float("nan")}


def traversal_codes(base: np.ndarray, codes: np.ndarray, units: int, steps: int) -> np.ndarray:
  """[units, steps, latent]: row j is `base` with unit j set to `steps` values evenly spaced
  between the 5% and 95% quantiles of codes[:, j]."""
  base = np.asarray(base, np.float32).reshape(-1)
  low, high = np.quantile(np.asarray(codes, np.float32), [0.05, 0.95], axis=0)
  units = min(units, base.shape[0])
  out = np.repeat(np.repeat(base[None, None], units, 0), steps, 1)
  for j in range(units):
    out[j, :, j] = np.linspace(low[j], high[j], steps)
  return out


def picture_factories(*, model, split: Callable[[str], Mapping[str, Any]], preprocess: Callable,
                      mesh, batch_size: int, scores_and_codes: Callable, image_shape: tuple,
                      held_out: int, corrupt: Callable | None, seed: int) -> dict:
  """{type: factory(name, spec)} for the types of the module docstring. `scores_and_codes(state,
  batch)` -> [B, 1 + latent] (per-image loss, then the code); `corrupt(rng, x)` or None."""
  decode = jax.jit(lambda v, z: model.apply(v, z, method="generate"))
  reconstruct = jax.jit(lambda v, x: model.apply(v, x, method="reconstruct"))
  key = jax.random.PRNGKey(seed)
  show = lambda x: np.asarray(x).reshape((-1,) + tuple(image_shape))

  def codes_of(state, name, limit=0):
    arrays = split(name)
    if limit:
      arrays = {k: np.asarray(v)[:limit] for k, v in arrays.items()}
    out, labels = predict_split(scores_and_codes, state, arrays, batch_size, mesh)
    return out[:, 0], out[:, 1:], labels

  def png(state, workdir, name, images, title, rows=()):
    path = pathlib.Path(workdir) / "plots" / f"{name}.png"
    step = int(jax.device_get(state.step))
    return {"plot": str(plot_image_grid(images, path, f"{title} (step {step})", rows))}

  def reconstructions(name, spec):
    n = int(spec.get("images", 10))

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      x = preprocess({"inputs": jnp.asarray(np.asarray(split(spec["split"])["inputs"])[:n])})
      x = x["inputs"]
      rows, labels = [show(x)], ["original"]
      if corrupt is not None:
        rows.append(show(corrupt(key, x)))
        labels.append("corrupted")
        x = jnp.asarray(rows[-1].reshape(x.shape))
      rows.append(show(reconstruct(state.eval_variables(), x)))
      return png(state, workdir, name, np.stack(rows), "reconstructions",
                 labels + ["reconstruction"])
    return run

  def samples(name, spec):
    if not hasattr(model, "sample_prior"):
      raise ConfigError(f"evals.{name}: type 'samples' needs a model with a prior "
                        f"(model.name='vae').")
    rows, cols = int(spec.get("rows", 8)), int(spec.get("cols", 8))
    draw = jax.jit(lambda v: model.apply(v, rows * cols, method="sample_prior",
                                         rngs={"latent": key}))

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      images = show(draw(state.eval_variables())).reshape((rows, cols) + tuple(image_shape))
      return png(state, workdir, name, images, "samples from the prior")
    return run

  def traversal(name, spec):
    units, steps = int(spec.get("units", 8)), int(spec.get("steps", 9))

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      _, codes, _ = codes_of(state, spec["split"], 2000)
      grid = traversal_codes(codes[0], codes, units, steps)
      images = show(decode(state.eval_variables(), jnp.asarray(grid.reshape(-1, grid.shape[-1]))))
      return png(state, workdir, name, images.reshape(grid.shape[:2] + tuple(image_shape)),
                 "latent traversal (5%..95% quantile)", [f"unit {j}" for j in range(len(grid))])
    return run

  def scatter(name, spec):
    points, method = int(spec.get("points", 5000)), str(spec.get("method", "pca"))
    if method not in METHODS:
      raise ConfigError(f"evals.{name}.method={method!r}; valid: {', '.join(METHODS)}.")

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      _, codes, labels = codes_of(state, spec["split"], points)
      xy = codes if codes.shape[1] == 2 else project_2d(codes, method, seed)
      how = "the 2-D codes" if codes.shape[1] == 2 else f"{method} of the codes"
      path = pathlib.Path(workdir) / "plots" / f"{name}.png"
      plot_embeddings(xy, labels, [str(k) for k in range(int(labels.max()) + 1)], path,
                      f"{how} at step {int(jax.device_get(state.step))}")
      return {"plot": str(path)}
    return run

  def anomaly(name, spec):
    if held_out < 0:
      raise ConfigError(f"evals.{name}: type 'anomaly' needs data.exclude_digit (the class "
                        f"left out of training), got {held_out}.")

    def run(state, args, workdir=None):
      scores, _, labels = codes_of(state, spec["split"])
      return anomaly_report(scores, labels, held_out)
    return run

  return {"reconstructions": reconstructions, "samples": samples, "traversal": traversal,
          "scatter": scatter, "anomaly": anomaly}
