"""T5-style text-to-text tasks (ARC-25): the prefixed task data and one tiny encoder-decoder
that learns to answer SST-2 with a label word through the translation trainer."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest

from dlcore.data.text import read_sst2
from dlcore.data.text_to_text import LABEL_WORDS, PREFIXES, load_text_to_text
from dlcore.errors import ConfigError
from dlcore.models import build_model
from dlcore.train import loop
from experiments import make_task


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
  monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "cache"))


def data_config(data_dir, **kw):
  return ml_collections.ConfigDict(dict(dict(data_dir=str(data_dir), tasks=("translate", "sst2"),
                                             max_examples_per_task=300, max_length=60), **kw))


def test_tasks_are_prefixed_mixed_and_share_one_vocabulary(data_dir):
  data = load_text_to_text(data_config(data_dir))
  vocab = data.src_vocab
  assert data.tgt_vocab is vocab
  train = data.splits["train"]
  assert len(train["src"]) == 600  # the limit K per task
  first = lambda row, n: vocab.decode(row)[:n]  # noqa: E731
  prefix = {t: p.split() for t, p in PREFIXES.items()}
  assert all(first(r, 5) == prefix["translate"] for r in train["src"][:300])
  assert all(first(r, 3) == prefix["sst2"] for r in train["src"][300:])
  assert {tuple(vocab.decode(r)) for r in train["tgt_out"][300:]} == {(w,) for w in LABEL_WORDS}
  # SST-2 dev: every sentence once, its label written as the word, in file order
  sents, labels = read_sst2(data_dir, "dev")
  assert data.references["sst2_dev"] == [[LABEL_WORDS[y]] for y in labels]
  dev = data.splits["sst2_dev"]
  assert len(dev["src"]) == len(sents) == 872
  assert vocab.decode(dev["src"][0])[3:] == [vocab.decode(vocab.encode([w]))[0]
                                            for w in sents[0].lower().split()]
  assert len(data.splits["val"]["src"]) == 1014 + 1000
  assert len(data.splits["test_2016_flickr"]["src"]) == 1000
  # a single-task run has the same vocabulary (same shapes) and only its task in training
  alone = load_text_to_text(data_config(data_dir, tasks=("sst2",)))
  assert alone.src_vocab.fingerprint == vocab.fingerprint
  assert len(alone.splits["train"]["src"]) == 300 and len(alone.splits["val"]["src"]) == 1000
  with pytest.raises(ConfigError, match="text-to-text tasks are translate, sst2"):
    load_text_to_text(data_config(data_dir, tasks=("summarize",)))


def test_shared_embeddings_tie_both_sides_and_need_one_vocabulary():
  import jax
  import jax.numpy as jnp
  fields = dict(name="transformer", num_layers=1, num_heads=2, d_model=8, d_ff=16, max_len=16,
                share_embeddings=True)
  model = build_model(dict(fields, src_vocab_size=50), 50)
  x = jnp.ones((2, 5), jnp.int32)
  params = jax.eval_shape(model.init, jax.random.key(0), x, x)["params"]
  assert "tgt_embed" not in params and "output" not in params and "src_embed" in params
  with pytest.raises(ConfigError, match="one vocabulary for both sides.*50.*60"):
    build_model(dict(fields, src_vocab_size=50), 60)


@pytest.mark.slow
def test_t5_answers_sst2_with_a_label_word(data_dir, tmp_path):
  """A tiny model trained on the SST-2 task alone writes a label word for (almost) every dev
  sentence and beats the majority class (0.509 of the dev set)."""
  from configs import t5_multitask
  from launch.comparison import variant_config
  c = variant_config(t5_multitask.get_config(), "sst2")
  c.data.update(data_dir=str(data_dir), max_examples_per_task=6000)
  c.model.update(num_layers=1, num_heads=2, d_model=32, d_ff=64, max_len=64)
  c.train.update(batch_size=64, num_epochs=0, num_steps=150, log_every=50, checkpoint_every=0,
                 progress=False)
  c.optimizer.update(learning_rate=3e-3)
  c.optimizer.schedule.warmup_steps = 10
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  c.evals = {"sst2": dict(type="match", split="sst2_dev", decode="greedy")}
  _, result = loop.run(make_task(c), tmp_path / "run")
  got = result["sst2"]
  assert got["num_examples"] == 872
  assert got["valid_output"] > 0.95, got
  assert got["accuracy"] > 0.55, got
  assert np.isfinite(got["accuracy"])


def test_t5_multitask_config_builds_one_model_for_both_tasks(data_dir):
  import jax
  from configs import t5_multitask
  from launch.comparison import variant_config
  c = variant_config(t5_multitask.get_config(), "multitask")
  c.data.data_dir = str(data_dir)
  c.mesh.num_devices = 1
  task = make_task(c)
  params = jax.eval_shape(task.init, jax.random.key(0)).part("model").params
  assert params["src_embed"]["embed"]["embedding"].shape == (16000, 256)  # one shared table
  assert "tgt_embed" not in params and "output" not in params
  assert 440 <= task.steps_per_epoch <= 58000 // 128  # length buckets drop partial batches
  assert sorted(e.name for e in task.evaluators) == ["bleu", "eval", "sst2"]
