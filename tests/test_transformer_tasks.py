"""The Transformer family end to end on tiny models: GPT through the language-model trainer
(shuffled windows, KV-cache generation, exact resume) and its bad-input errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs.defaults import language_model
from dlcore.data.text.streams import TokenStream
from dlcore.errors import ConfigError, DataError
from dlcore.train import loop
from experiments import make_task
from tests.test_sequence_tasks import SHAKESPEARE_LIKE


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
  monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "cache"))


def gpt_config(path, steps=6):
  c = language_model.use_gpt(language_model.get_config(), context=8, eval_every=3,
                             sample=(3, 4), num_layers=1, num_heads=2, d_model=16)
  del c.evals["heads"], c.evals["generate"]
  c.data.update(name="text", path=str(path))
  c.train.update(batch_size=4, num_steps=steps, log_every=3, eval_every=3, checkpoint_every=3,
                 progress=False)
  c.optimizer.schedule.update(name="constant", warmup_steps=0)
  c.eval.batch_size = 4
  c.mesh.num_devices = 1
  return c


def test_shuffled_windows_cover_every_window_once_an_epoch():
  ids = np.arange(203, dtype=np.int32)
  stream = TokenStream(ids, batch_size=4, seq_len=5, seed=0, shuffle=True)
  batches = [next(stream) for _ in range(stream.steps_per_epoch)]
  starts = sorted(int(w[0]) for b in batches for w in b["inputs"])
  offset = starts[0]  # the epoch's random offset, < seq_len
  windows = [offset + r * stream.row_len + 5 * k  # row r's k-th window, as shuffle=False reads
             for r in range(4) for k in range(stream.steps_per_epoch)]
  assert offset < 5 and starts == sorted(windows)
  for b in batches:  # targets are the next tokens; no state is carried between batches
    np.testing.assert_array_equal(b["targets"], b["inputs"] + 1)
    assert np.all(b["reset"] == 1)
  contiguous = [offset + r * stream.row_len for r in range(4)]  # what shuffle=False gives
  assert [int(w[0]) for w in batches[0]["inputs"]] != contiguous


def test_gpt_trains_resumes_bitwise_and_generates(tmp_path):
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  full_state, full = loop.run(make_task(gpt_config(text, steps=6)), tmp_path / "full")
  loop.run(make_task(gpt_config(text, steps=3)), tmp_path / "halves")
  resumed_state, resumed = loop.run(make_task(gpt_config(text, steps=6)), tmp_path / "halves")
  for a, b in zip(jax.tree.leaves(full_state), jax.tree.leaves(resumed_state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert full["test"] == resumed["test"]
  c = gpt_config(text, steps=2)
  c.evals = {"generate": dict(type="generate", split="valid", num_prompts=2, prompt_length=3,
                              length=5, temperatures=(0.0,), beam_size=2, samples=1),
             "heads": dict(type="attention", split="valid", length=6)}
  _, result = loop.run(make_task(c), tmp_path / "gen")
  out = result["generate"]
  assert out["sample_t0/logprob_per_token"] == pytest.approx(out["greedy/logprob_per_token"])
  assert out["beam2/logprob_per_token"] >= out["greedy/logprob_per_token"] - 1e-6
  assert result["heads"] == {"pictures": 2}  # one heatmap per head of the last layer
  assert len(list((tmp_path / "gen" / "attention").glob("heads_layer0_head*.png"))) == 2


def test_attention_heatmaps_of_a_recurrent_model_are_one_error(tmp_path):
  from tests.test_sequence_tasks import lm_config
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = lm_config(text)
  c.evals = {"heads": dict(type="attention", split="valid")}
  with pytest.raises(ConfigError, match="attention heatmaps need a Transformer"):
    make_task(c)


def test_gpt_generation_longer_than_its_context_is_one_error(tmp_path):
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = gpt_config(text, steps=1)
  c.evals = {"generate": dict(type="generate", split="valid", num_prompts=2, prompt_length=4,
                              length=6, temperatures=(1.0,), beam_size=0, samples=1)}
  with pytest.raises(ConfigError, match=r"generation \(prompt \+ new tokens\) of 9 positions "
                                        r"is longer than the positional table \(8 positions\)"):
    loop.run(make_task(c), tmp_path / "run")


def test_transformer_base_config_traces_at_the_paper_size():
  from configs import transformer_base
  from dlcore.models import build_model
  c = transformer_base.get_config()
  model = build_model(dict(c.model.to_dict(), src_vocab_size=8000), 6000)
  src = jax.ShapeDtypeStruct((2, 30), np.int32)
  shapes = jax.eval_shape(lambda s: model.init(jax.random.key(0), s, s), src)["params"]
  layer = shapes["encoder_0"]
  assert layer["self_attention"]["query"]["kernel"].shape == (512, 8, 64)  # d_k = 512 / 8
  assert layer["ffn"]["dense_1"]["kernel"].shape == (512, 2048)
  assert sum(k.startswith("encoder_") for k in shapes) == 6
  assert sum(k.startswith("decoder_") for k in shapes) == 6
  n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes))
  # encoder layer: 4 (512² + 512) attention + 2 x 512 x 2048 + 2048 + 512 FFN + 2 LayerNorms;
  # decoder layer: two attentions and three LayerNorms; embeddings (8000 + 6000) x 512; output
  enc = 4 * (512 * 512 + 512) + 2 * 512 * 2048 + 2048 + 512 + 2 * 1024
  dec = 8 * (512 * 512 + 512) + 2 * 512 * 2048 + 2048 + 512 + 3 * 1024
  assert n == 6 * enc + 6 * dec + 14_000 * 512 + 512 * 6000 + 6000


@pytest.mark.slow
def test_transformer_translates_through_the_translation_trainer(data_dir, tmp_path):
  from configs import multi30k_transformer
  c = multi30k_transformer.get_config()
  c.data.data_dir = str(data_dir)
  c.model.update(num_layers=1, num_heads=2, d_model=16, d_ff=32, max_len=64)
  c.train.update(batch_size=64, num_epochs=0, num_steps=3, log_every=3, checkpoint_every=0,
                 progress=False)
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  c.evals = {"greedy": dict(type="bleu", split="val", decode="greedy"),
             "heatmaps": dict(type="attention", split="val", examples=2)}
  _, result = loop.run(make_task(c), tmp_path / "run")
  assert result["greedy"]["num_examples"] == 1014 and result["greedy"]["mean_length"] > 0
  assert len(list((tmp_path / "run" / "attention").glob("heatmaps_*.png"))) == 2


@pytest.mark.parametrize("name, params", [("shakespeare_gpt_small", 810_752),
                                          ("shakespeare_gpt", 3_210_752),
                                          ("multi30k_transformer", None)])
def test_transformer_configs_build_their_tasks(name, params, data_dir):
  """Every evaluator of the config fits its model (context, generation length) and the model
  has the size its docstring states."""
  import importlib
  c = importlib.import_module(f"configs.{name}").get_config()
  c.data.data_dir = str(data_dir)
  c.mesh.num_devices = 1
  task = make_task(c)
  shapes = jax.eval_shape(task.init, jax.random.key(0))
  n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes.part("model").params))
  if params is not None:
    assert n == params
  else:  # about 9M, the anchor's size
    assert 8e6 < n < 10e6, n


def test_layer_wise_lr_decay_scales_each_layer_by_its_depth():
  from dlcore.models import build_model
  from dlcore.optim import build_optimizer, optimizer_config
  model = build_model(dict(name="bert_classifier", vocab_size=20, num_layers=3, num_heads=2,
                           d_model=8, max_len=8), 2)
  params = model.init(jax.random.key(0), np.ones((1, 4), np.int32))["params"]
  cfg = optimizer_config("sgd", 1.0, layer_decay=0.5, weight_decay=0.0)
  tx, _ = build_optimizer(cfg, 10)
  grads = jax.tree.map(np.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  scale = lambda tree: float(-np.asarray(jax.tree.leaves(tree)[0]).ravel()[0])
  bert = updates["bert"]
  assert scale(updates["classifier"]) == 1.0 and scale(bert["pooler"]) == 1.0  # the head
  assert [scale(bert[f"layer_{i}"]) for i in range(3)] == [0.125, 0.25, 0.5]  # d^(L - i)
  assert scale(bert["token_embed"]) == scale(bert["position_table"]) == 0.0625  # d^(L + 1)
  with pytest.raises(ConfigError, match="layer_decay"):
    build_optimizer(optimizer_config("sgd", 1.0, layer_decay=1.5), 10)


def test_bert_examples_pair_consecutive_sentences_and_pad():
  from dlcore.data.text.pretraining import bert_examples
  docs = [[[10, 11, 12], [13, 14], [15]], [[20, 21, 22, 23, 24, 25, 26]], [[30], [31]]]
  out = bert_examples(docs, max_len=8, seed=0)
  assert out["tokens"].shape == (6, 8) and out["nsp_weight"].tolist() == [1, 1, 0, 0, 1, 0]
  for row, seg, label, w in zip(out["tokens"], out["segments"], out["nsp_label"],
                                out["nsp_weight"]):
    real = row[row != 0]
    assert real[0] == 5 and real[-1] == 6  # [CLS] ... [SEP]
    if w:  # [CLS] A [SEP] B [SEP] with segment 1 on B [SEP]
      sep = int(np.argmax(real == 6))
      np.testing.assert_array_equal(seg[:len(real)], [0] * (sep + 1) + [1] * (len(real) - sep - 1))
      a, b = real[1:sep].tolist(), real[sep + 1:-1].tolist()
      if label == 1:  # the true next sentence (these pairs fit max_len untruncated)
        assert {(10, 11, 12): [13, 14], (13, 14): [15], (30,): [31]}[tuple(a)] == b
      else:  # a sentence of another document
        assert not set(b) & {v for doc in docs for s_ in doc for v in s_ if a[0] in s_}
  assert out["tokens"][3].tolist() == [5, 20, 21, 22, 23, 24, 25, 6]  # cut to max_len - 2


def write_corpus(root):
  (root / "tinyshakespeare").mkdir(parents=True)
  (root / "tinyshakespeare" / "input.txt").write_text(SHAKESPEARE_LIKE.replace(
      "Speak, speak.\n", "Speak, speak.\n\n"))
  return root


def bert_config(data_dir, steps=4):
  from configs import bert_pretrain
  c = bert_pretrain.get_config()
  c.data.update(data_dir=str(data_dir), sources=("tinyshakespeare",), min_freq=1,
                valid_fraction=0.2, max_len=16)
  c.model.update(num_layers=2, num_heads=2, d_model=16, max_len=16)
  c.train.update(batch_size=8, num_steps=steps, log_every=2, eval_every=2, checkpoint_every=2,
                 progress=False)
  c.optimizer.schedule.update(name="constant", warmup_steps=0)  # the same lr in both halves
  c.mesh.num_devices = 1
  return c


def test_bert_pretrains_resumes_bitwise_and_fine_tunes_with_its_vocabulary(tmp_path, data_dir):
  corpus = write_corpus(tmp_path / "data")
  full_state, full = loop.run(make_task(bert_config(corpus, 4)), tmp_path / "full")
  loop.run(make_task(bert_config(corpus, 2)), tmp_path / "halves")
  resumed_state, resumed = loop.run(make_task(bert_config(corpus, 4)), tmp_path / "halves")
  for a, b in zip(jax.tree.leaves(full_state), jax.tree.leaves(resumed_state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # the masks are in the step key
  assert full["test"] == resumed["test"]
  assert set(full["test"]) >= {"mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy"}
  # fine-tune on SST-2 with the pretraining run's vocabulary, warm-starting its encoder
  from configs import sst2_bert
  base = sst2_bert.get_config()
  assert set(base.variants) == {"full", "frozen", "llrd", "scratch"}
  for k in ("title", "variants", "base_experiment"):
    del base[k]
  base.experiment = "classification"
  base.data.update(data_dir=str(data_dir), vocab_file=str(tmp_path / "full" / "vocab.json"),
                   max_length=16, buckets=(16,))
  base.model.update(num_layers=2, num_heads=2, d_model=16, max_len=16)
  base.init_from.workdir = str(tmp_path / "full")
  base.optimizer.update(layer_decay=0.8)
  base.train.update(batch_size=16, num_epochs=0, num_steps=2, log_every=1, eval_every=0,
                    checkpoint_every=0, progress=False)
  base.mesh.num_devices = 1
  state, _ = loop.run(make_task(base), tmp_path / "fine")
  tuned = state.part("model").params["bert"]["layer_0"]
  pre = full_state.part("model").params["bert"]["layer_0"]
  assert jax.tree.map(jnp.shape, tuned) == jax.tree.map(jnp.shape, pre)
  # an SST-2 vocabulary of its own does not match the pretrained embedding rows: one error
  base.data.vocab_file = ""
  with pytest.raises(DataError, match="vocab.json .* does not match"):
    loop.run(make_task(base), tmp_path / "mismatch")
