"""Default of the GAN family (`experiment='gan'`, experiments/gan.py): a DCGAN on MNIST.

Sections:
  name, experiment, seed
  data:      name ('mnist'), data_dir, path, num_train (0: all 60,000)
  model:     generator (name 'dcgan_generator': latent_dim, features), discriminator
             (name 'dcgan_discriminator': features)
  optimizer: generator, discriminator: one optimizer each (DCGAN: Adam 2e-4, b1 0.5)
  loss:      generator: 'non_saturating' (-log D(G(z))) or 'minimax' (log(1 - D(G(z))))
  evals:     'samples' (grid at fixed z every `every` steps), 'quality' (FID (MNIST
             classifier), Inception-style score, confident share of `num_samples` samples, at
             the end; `classifier_steps` trains the judge once per workdir)
  train:     batch_size, num_steps, log_every, checkpoint_every, ...
  mesh:      num_devices (1)
"""

import ml_collections

from configs.defaults import D, image_generation
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = image_generation("gan", ("generator/loss", "min"), sample_every=500)
  c.model = D(dict(generator=D(dict(name="dcgan_generator", latent_dim=64, features=32)),
                   discriminator=D(dict(name="dcgan_discriminator", features=32))))
  c.optimizer = D(dict(generator=optimizer_config("adam", 2e-4, b1=0.5),
                       discriminator=optimizer_config("adam", 2e-4, b1=0.5)))
  c.loss = D(dict(generator="non_saturating"))
  return c
