"""Sample quality of image generators (GAN, diffusion) judged by dlcore's own MNIST classifier,
and the sample grids drawn over training (GEN-7).

The classifier is a `SimpleCNN` (ARC-6 from dlcore's zoo: conv32-pool-conv64-pool, a 128-unit
hidden layer, 10 logits) trained on MNIST train by Adam (1e-3, batch 128, `classifier_steps`
steps) when the evaluator first runs; its parameters and reference figures are cached in
`<workdir>/sample_quality/`, so a resumed run does not train it again. On N generated images
(values in [-1, 1], shown to the classifier in [0, 1]):

- "FID (MNIST classifier)" `fid_mnist_classifier`: the Fréchet distance
  (`dlcore.metrics.frechet`) between Gaussians fitted to the classifier's penultimate features
  (the 128 ReLU hidden units) of the samples and of the MNIST test images. It is not the
  Inception-v3 FID of the literature and its values are not comparable with published ones;
- `inception_score`: exp(E KL(p(y|x) || p(y))) with the classifier's p(y|x) (at most 10);
- `confident_share`: the share of samples given some digit with probability > `threshold`.

The same figures for real images (`reference_*`: N MNIST train images against the test
images) show what a perfect generator would reach with the same N.
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Callable

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.metrics.frechet import (confident_share, frechet_distance, gaussian_stats,
                                    inception_score)
from dlcore.models.cnn.simple_cnn import SimpleCNN
from dlcore.viz.image_grid import plot_image_grid

FID_NAME = "FID (MNIST classifier)"
CLASSIFIER = dict(features=(32, 64), hidden=128)
CACHE = "sample_quality"
OPTIONS = {"samples": ("num", "nrow"),
           "quality": ("num_samples", "batch", "classifier_steps", "threshold")}
WRITES = ("samples",)
SampleFn = Callable[..., jax.Array]  # sample_fn(state, key, n) -> [n, H, W, C] in [-1, 1]


def as_grid(images: np.ndarray, nrow: int) -> np.ndarray:
  """[N, H, W, C] images in [-1, 1] -> [rows, nrow, H, W, C] in [0, 1], blank-padded."""
  rows = -(-len(images) // nrow)
  pad = np.full((rows * nrow - len(images),) + images.shape[1:], 1.0, images.dtype)
  grid = (np.concatenate([images, pad]) + 1.0) / 2.0
  return grid.reshape((rows, nrow) + images.shape[1:])


class MnistClassifier:
  """The SimpleCNN judge: penultimate features and class probabilities of images in [0, 1]."""

  def __init__(self, params):
    self.model = SimpleCNN(num_outputs=10, **CLASSIFIER)
    self.params = params
    self._apply = jax.jit(self._outputs)

  def _outputs(self, params, images):
    logits, inter = self.model.apply(
        {"params": params}, images, capture_intermediates=lambda m, _: m.name == "hidden",
        mutable=["intermediates"])
    return jax.nn.relu(inter["intermediates"]["hidden"]["__call__"][0]), jax.nn.softmax(logits)

  def outputs(self, images01: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 128], probabilities [N, 10]) in float64."""
    feats, probs = [], []
    for i in range(0, len(images01), batch):
      f, p = self._apply(self.params, jnp.asarray(images01[i:i + batch], jnp.float32))
      feats.append(np.asarray(f, np.float64))
      probs.append(np.asarray(p, np.float64))
    return np.concatenate(feats), np.concatenate(probs)

  @classmethod
  def init_params(cls, seed: int = 0):
    model = SimpleCNN(num_outputs=10, **CLASSIFIER)
    return model.init(jax.random.key(seed), jnp.zeros((1, 28, 28, 1)))["params"]

  @classmethod
  def train(cls, images: np.ndarray, labels: np.ndarray, steps: int, seed: int = 0,
            batch_size: int = 128) -> "MnistClassifier":
    """Adam 1e-3 on softmax cross-entropy, `steps` shuffled batches of uint8 images."""
    model, tx = SimpleCNN(num_outputs=10, **CLASSIFIER), optax.adam(1e-3)
    params = cls.init_params(seed)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
      def loss(p):
        logits = model.apply({"params": p}, x.astype(jnp.float32) / 255.0)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      updates, opt_state = tx.update(jax.grad(loss)(params), opt_state, params)
      return optax.apply_updates(params, updates), opt_state

    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(images))
                            for _ in range(steps * batch_size // len(images) + 1)])
    for s in range(steps):
      idx = order[s * batch_size:(s + 1) * batch_size]
      params, opt_state = step(params, opt_state, images[idx], labels[idx])
    return cls(params)


def to_unit(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] or float [-1, 1] images -> float32 [0, 1]."""
  x = np.asarray(images)
  return (x / 255.0 if x.dtype == np.uint8 else (x + 1.0) / 2.0).astype(np.float32)


class SampleJudge:
  """The trained classifier with the test images' statistics and the real-image reference."""

  def __init__(self, mnist: dict, steps: int, num_reference: int, threshold: float, seed: int,
               workdir=None):
    self.threshold = threshold
    cache = pathlib.Path(workdir) / CACHE if workdir is not None else None
    (test_x, test_y), (train_x, train_y) = mnist["test"], mnist["train"]
    info_file = cache / f"reference_{num_reference}.json" if cache else None
    if cache is not None and (cache / "classifier.msgpack").is_file() and info_file.is_file():
      params = flax.serialization.from_bytes(MnistClassifier.init_params(seed),
                                             (cache / "classifier.msgpack").read_bytes())
      self.classifier = MnistClassifier(params)
      self.test_stats = None
      self.info = json.loads(info_file.read_text())
    else:
      self.classifier = MnistClassifier.train(train_x, train_y, steps, seed)
      self.info = None
    feats, probs = self.classifier.outputs(to_unit(test_x))
    self.test_stats = gaussian_stats(feats)
    if self.info is None:
      pick = np.random.default_rng(seed + 1).permutation(len(train_x))[:num_reference]
      self.info = {"classifier_test_accuracy": float((probs.argmax(1) == test_y).mean()),
                   **{f"reference_{k}": v for k, v in self.judge(train_x[pick]).items()}}
      if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "classifier.msgpack").write_bytes(
            flax.serialization.to_bytes(self.classifier.params))
        info_file.write_text(json.dumps(self.info, indent=1))

  def judge(self, images: np.ndarray) -> dict:
    """The three figures of `images` (uint8 or [-1, 1]) against the test images."""
    feats, probs = self.classifier.outputs(to_unit(images))
    return {"fid_mnist_classifier": frechet_distance(*gaussian_stats(feats), *self.test_stats),
            "inception_score": inception_score(probs),
            "confident_share": confident_share(probs, self.threshold)}


def draw_samples(sample_fn: SampleFn, state, key: jax.Array, n: int, batch: int) -> np.ndarray:
  """n samples in chunks of `batch` (chunk c uses key fold_in(key, c)), as host float32."""
  chunks = [np.asarray(jax.device_get(sample_fn(state, jax.random.fold_in(key, c), batch)))
            for c in range((n + batch - 1) // batch)]
  return np.concatenate(chunks)[:n]


def generation_factories(sample_fn: SampleFn, mnist: dict, seed: int) -> dict:
  """The evaluator types 'samples' (a PNG grid at fixed noise every time it runs:
  plots/<name>_<step>.png and plots/<name>.png) and 'quality' (module docstring)."""
  fixed_key = jax.random.key(seed + 12345)

  def samples(name, spec):
    num, nrow = int(spec.get("num", 64)), int(spec.get("nrow", 8))

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      images = np.asarray(jax.device_get(sample_fn(state, fixed_key, num)))
      step = int(jax.device_get(state.step))
      grid = as_grid(images, nrow)
      plots = pathlib.Path(workdir) / "plots"
      plot_image_grid(grid, plots / f"{name}_{step:06d}.png", f"{name}, step {step}")
      return {"samples": str(plot_image_grid(grid, plots / f"{name}.png",
                                             f"{name}, step {step}"))}
    return run

  def quality(name, spec):
    n, batch = int(spec.get("num_samples", 10000)), int(spec.get("batch", 500))
    steps, threshold = int(spec.get("classifier_steps", 600)), float(spec.get("threshold", 0.9))
    judges = {}

    def run(state, args, workdir=None):
      if workdir not in judges:
        judges[workdir] = SampleJudge(mnist, steps, n, threshold, seed, workdir)
      judge = judges[workdir]
      start = time.perf_counter()
      images = draw_samples(sample_fn, state, jax.random.key(seed + 777), n, batch)
      seconds = time.perf_counter() - start
      return {**judge.judge(images), **judge.info, "num_samples": n,
              "sampling_seconds": seconds}
    return run

  return {"samples": samples, "quality": quality}
