"""Building blocks of image generators (GAN, diffusion; GEN-7): the images of `config.data` on
the mesh with a training loader, in [-1, 1], and the evaluators that judge samples
(`dlcore.evals.sample_quality`: 'samples' grids at fixed noise, 'quality' with the FID (MNIST
classifier), the Inception-style score and the confident share).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from jax.sharding import Mesh

from dlcore.config import cfg_get
from dlcore.data import Dataset, load_dataset
from dlcore.data.loader import TrainLoader
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.evals.sample_quality import OPTIONS, WRITES, SampleFn, generation_factories
from dlcore.train import mesh as mesh_lib


@dataclasses.dataclass
class ImageData:
  mesh: Mesh
  dataset: Dataset
  loader: TrainLoader

  @property
  def shape(self) -> tuple[int, ...]:
    return tuple(self.dataset.split("train")["inputs"].shape[1:])

  def describe(self) -> str:
    return (f"{self.dataset.info.name} {self.dataset.num_examples('train')} training images "
            f"{'x'.join(map(str, self.shape))}; {self.loader.steps_per_epoch} steps/epoch")


def load_images(config) -> ImageData:
  """The training images of `config.data` (uint8 [N, H, W, C]) behind a shuffled loader of
  `train.batch_size`."""
  mesh = mesh_lib.mesh_from_config(config.mesh, 1)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  dataset = load_dataset(config.data)
  train = dataset.split("train")
  if train["inputs"].ndim != 4:
    raise ConfigError(f"an image generator needs images [N, H, W, C]; data "
                      f"{dataset.info.name!r} has inputs of shape {train['inputs'].shape}.")
  seed = int(cfg_get(config.data, "shuffle_seed", config.seed))
  return ImageData(mesh, dataset, TrainLoader({"inputs": train["inputs"]},
                                              config.train.batch_size, seed=seed))


def to_signed(images: jnp.ndarray) -> jnp.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]."""
  return images.astype(jnp.float32) / 127.5 - 1.0


def image_evaluators(config, sample_fn: SampleFn, data: ImageData) -> list:
  """`config.evals` of types 'samples' and 'quality' for `sample_fn(state, key, n)`."""
  mnist = {s: (data.dataset.split(s)["inputs"], data.dataset.split(s)["label"])
           for s in ("train", "test")}
  return parse_evals(config.evals, generation_factories(sample_fn, mnist, int(config.seed)),
                     options=OPTIONS, writes_files=WRITES)
