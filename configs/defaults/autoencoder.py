"""Default of the autoencoder family (`experiment='autoencoder'`, experiments/autoencoder.py):
an MLP autoencoder 784-256-32-256-784 on MNIST pixels in [0, 1], squared reconstruction error,
Adam 1e-3, batches of 128. `get_config('vae')` gives the VAE of the flax example's size
(784-500-20-500-784, Bernoulli decoder) on MNIST binarized at 0.5.

Sections:
  name, experiment, seed
  data:      name='mnist', data_dir, path, num_train, normalize='unit', flatten=True,
             binarize ('none', 'threshold', 'bernoulli'), binarize_seed, exclude_digit (-1: none)
  model:     'autoencoder': hidden, latent, activation, code_activation; 'vae': hidden, latent,
             activation
  loss:      reconstruction ('squared' or 'bernoulli'; autoencoder), beta (VAE KL weight)
  noise:     type ('none', 'gaussian', 'masking', 'salt_pepper'), level (denoising AE)
  sparsity:  kind ('none', 'l1', 'kl'), weight, rho (sparse AE)
  optimizer: dlcore.optim.optimizer_config('adam', 1e-3)
  train:     batch_size, num_epochs, ...
  eval:      batch_size
  evals:     'test' (metrics on the test split at the end) and the pictures 'reconstructions',
             'traversal', 'scatter' (the VAE also 'samples')
  early_stopping: the loss, tracked; mesh: num_devices (1)
"""

import ml_collections

from configs.defaults import D, family
from configs.defaults.classification import data_config
from dlcore.optim import optimizer_config


def _evals(vae: bool) -> D:
  evals = D({"test": D(dict(type="metrics", split="test", at_end=True)),
             "reconstructions": D(dict(type="reconstructions", split="test", images=12)),
             "traversal": D(dict(type="traversal", split="test", units=8, steps=9)),
             "scatter": D(dict(type="scatter", split="test", points=5000, method="pca"))})
  if vae:
    evals.samples = D(dict(type="samples", rows=8, cols=8))
  return evals


def get_config(model: str = "autoencoder") -> ml_collections.ConfigDict:
  vae = model == "vae"
  c = family("autoencoder",
             data=data_config("mnist", normalize="unit", flatten=True, path="", num_train=0,
                              binarize="threshold" if vae else "none", binarize_seed=0,
                              exclude_digit=-1),
             train=dict(batch_size=128, num_epochs=10, log_every=100, checkpoint_every=0,
                        progress=False),
             watch=("loss", "min"))
  c.model = (D(dict(name="vae", hidden=(500,), latent=20, activation="relu")) if vae else
             D(dict(name="autoencoder", hidden=(256,), latent=32, activation="relu",
                    code_activation="linear")))
  c.loss = D(dict(reconstruction="squared", beta=1.0))
  c.noise = D(dict(type="none", level=0.0))
  c.sparsity = D(dict(kind="none", weight=0.0, rho=0.05))
  c.optimizer = optimizer_config("adam", 1e-3)
  c.eval = D(dict(batch_size=1000))
  c.evals = _evals(vae)
  c.metrics = ()
  c.mesh.num_devices = 1
  return c
