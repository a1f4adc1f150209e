"""configs/cifar10.py and configs/imagenet.py on synthetic arrays of CIFAR-10 (32x32x3, 10
classes) and ImageNet (224x224x3, 1000 classes) shape: neither data set is available offline.

Every architecture of both configs goes through the trainer's own pieces (`build`, the loss with
augmentation and auxiliary heads, `model_init`, `make_train_step`):
  * one representative of each family takes real jitted train steps (loss finite, parameters
    change, step counter advances) and its eval output has shape (batch, classes);
  * every other depth of that family (same code path, more blocks) is traced through the whole
    train step with `jax.eval_shape` (shapes, gradients and the optimizer update, no XLA compile),
    which keeps CI short: compiling DenseNet-169 or ResNet-152 on 2 CPU cores takes minutes.
"""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcore.data import load_dataset
from dlcore.data.preprocess import make_preprocess
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib, supervised
from dlcore.train.step import compile_train_step, make_train_step
from experiments import classification
from launch.cli import load_config_file

from conftest import REPO

CIFAR_TRAIN = ("simple_cnn", "lenet5", "alexnet", "vgg11_bn", "googlenet", "resnet18",
               "resnet50", "resnet20")
# densenet121 only traces here (its 3-step compile took ~110 s of the suite's budget); its dense
# layers and transitions are checked against NumPy in tests/test_cnn_dense_inception.py.
CIFAR_TRACE = ("vgg11", "vgg13", "vgg16", "vgg19", "vgg13_bn", "vgg16_bn", "vgg19_bn",
               "resnet34", "resnet101", "resnet152", "resnet32", "resnet44", "resnet56",
               "resnet110", "densenet121", "densenet169")
IMAGENET_TRAIN = ("alexnet", "vgg11", "resnet18")
IMAGENET_TRACE = ("googlenet", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
                  "vgg19_bn", "resnet34", "resnet50", "resnet101", "resnet152", "densenet121",
                  "densenet169")
# XLA:CPU compiles a network about twice as fast at optimisation level 0; same results.
FAST_COMPILE = {"xla_backend_optimization_level": 0}
SHAPES = {"cifar10": ((32, 32, 3), 10), "imagenet": ((224, 224, 3), 1000)}


def synthetic_config(config_name: str, arch: str, batch: int = 4):
  """The real config with its data swapped for synthetic images of the same shape."""
  c = load_config_file(f"{REPO / 'configs' / config_name}.py:{arch}")
  shape, classes = SHAPES[config_name]
  augment = c.data.augment.to_dict()
  if config_name == "imagenet":  # the host already delivers 224 here: crop nothing
    augment["random_crop_size"] = 0
  c.data = ml_collections.ConfigDict(dict(
      name="synthetic_images", image_shape=shape, num_classes=classes, num_train=2 * batch,
      num_test=batch, normalize="standardize", flatten=False, augment=augment))
  c.train.update(batch_size=batch, num_steps=3, progress=False)
  c.eval.batch_size = batch
  c.mesh.num_devices = 1
  return c


def _archs(config_name: str) -> tuple[str, ...]:
  spec = importlib.util.spec_from_file_location(f"{config_name}_cfg",
                                                REPO / "configs" / f"{config_name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.ARCHS


def test_every_architecture_is_covered():
  assert sorted(CIFAR_TRAIN + CIFAR_TRACE) == sorted(_archs("cifar10"))
  assert sorted(IMAGENET_TRAIN + IMAGENET_TRACE) == sorted(_archs("imagenet"))
  imagenet = load_config_file(f"{REPO / 'configs' / 'imagenet'}.py")
  assert imagenet.model.name == "resnet" and imagenet.model.depth == 50
  for config_name in SHAPES:
    with pytest.raises(ValueError, match="unknown architecture"):
      load_config_file(f"{REPO / 'configs' / config_name}.py:resnet19")


@pytest.mark.parametrize("config_name,arch", [("cifar10", a) for a in CIFAR_TRAIN] +
                         [("imagenet", a) for a in IMAGENET_TRAIN])
def test_representatives_train_a_few_steps(config_name, arch):
  c = synthetic_config(config_name, arch, batch=2 if config_name == "imagenet" else 4)
  s = classification.build(c)
  initial = mesh_lib.replicate(jax.jit(s.init)(jax.random.PRNGKey(c.seed)), s.mesh)
  batches = [mesh_lib.put_batch(next(s.data.loader), s.mesh) for _ in range(3)]
  step = compile_train_step(make_train_step(classification.train_loss(s.objective)),
                            s.mesh).lower(initial, batches[0]).compile(FAST_COMPILE)
  state, before = initial, jax.device_get(jax.tree.leaves(initial.params)[0])
  for batch in batches:
    state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  assert int(state.step) == 3 and int(state.nonfinite_step) == -1
  assert not np.array_equal(jax.device_get(jax.tree.leaves(state.params)[0]), before)
  shape, classes = SHAPES[config_name]
  x = make_preprocess(c.data, s.data.info)(
      {"inputs": jnp.asarray(s.data.dataset.split("test")["inputs"])})["inputs"]
  assert x.shape[1:] == shape
  logits = s.model.apply(state.eval_variables(), x, train=False)
  assert logits.shape == (c.eval.batch_size, classes) and logits.dtype == jnp.float32
  assert np.all(np.isfinite(np.asarray(logits)))


@pytest.mark.parametrize("config_name,arch", [("cifar10", a) for a in CIFAR_TRACE] +
                         [("imagenet", a) for a in IMAGENET_TRACE])
def test_other_depths_trace_through_the_train_step(config_name, arch):
  c = synthetic_config(config_name, arch, batch=2)
  dataset = load_dataset(c.data)
  shape, classes = SHAPES[config_name]
  model = build_model(c.model, classes)
  preprocess = make_preprocess(c.data, dataset.info)
  tx, _ = build_optimizer(c.optimizer, 10)
  images = jax.ShapeDtypeStruct((2, *shape), jnp.uint8)

  def init(rng):
    x = preprocess({"inputs": jnp.zeros(images.shape, images.dtype)})["inputs"]
    return supervised.model_init(model, tx, x)(rng)

  state = jax.eval_shape(init, jax.random.PRNGKey(0))
  assert "aux_outputs" not in state.model_state
  batch = {"inputs": images, "label": jax.ShapeDtypeStruct((2,), jnp.int32),
           "mask": jax.ShapeDtypeStruct((2,), jnp.float32)}
  loss_fn = classification.train_loss(classification.make_loss_fn(c, model, preprocess))
  new_state, metrics = jax.eval_shape(make_train_step(loss_fn), state, batch)
  assert jax.tree.map(lambda a: (a.shape, a.dtype), new_state.params) == \
      jax.tree.map(lambda a: (a.shape, a.dtype), state.params)
  x = jax.ShapeDtypeStruct((2, *shape), jnp.float32)
  out = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), state.eval_variables(), x)
  assert out.shape == (2, classes) and out.dtype == jnp.float32
