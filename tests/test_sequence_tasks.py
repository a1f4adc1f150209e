"""The sequence families end to end on tiny models: the char language model (truncated BPTT,
exact resume with the carried state, generation), SST-2 text classification through the
classification trainer, Multi30k translation (teacher forcing, greedy and beam BLEU, heatmaps),
and their bad-input errors (acceptance 6 of the recurrent-networks issue)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from configs.defaults import language_model, text_classification, translation
from dlcore.errors import DataError
from dlcore.train import loop
from experiments import make_task
from tests.conftest import run_cli

SHAKESPEARE_LIKE = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\n"
                    "Speak, speak.\n") * 40


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
  monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "cache"))


def lm_config(path, steps=6, **model):
  c = language_model.get_config()
  c.data.update(name="text", path=str(path), seq_len=8)
  c.model.update(embed_dim=8, hidden=16, **model)
  c.train.update(batch_size=4, num_steps=steps, log_every=3, eval_every=3, checkpoint_every=3,
                 progress=False)
  c.eval.batch_size = 4
  c.optimizer.learning_rate = 0.02
  c.optimizer.schedule.name = "constant"  # a run cut in halves has the same learning rates
  c.mesh.num_devices = 1
  return c


def test_char_lm_resumes_bitwise_with_its_carried_state(tmp_path):
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  full_state, full = loop.run(make_task(lm_config(text, steps=6)), tmp_path / "full")
  loop.run(make_task(lm_config(text, steps=3)), tmp_path / "halves")
  resumed_state, resumed = loop.run(make_task(lm_config(text, steps=6)), tmp_path / "halves")
  for a, b in zip(jax.tree.leaves(full_state), jax.tree.leaves(resumed_state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert full["test"] == resumed["test"]
  vocab = json.loads((tmp_path / "full" / "vocab.json").read_text())
  # below the uniform guess over its vocabulary
  assert full["test"]["nats_per_token"] < np.log(len(vocab["tokens"])) - 0.2
  assert vocab["format"] == "dlcore-vocab-1" and "\n" in vocab["tokens"]


def test_char_lm_generation_report(tmp_path):
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = lm_config(text, steps=3, cell="gru")
  c.evals = {"generate": dict(type="generate", split="valid", num_prompts=2, prompt_length=6,
                              length=5, temperatures=(0.0, 1.0), beam_size=2, samples=1)}
  _, result = loop.run(make_task(c), tmp_path / "run")
  out = result["generate"]
  assert set(out) >= {"greedy/logprob_per_token", "sample_t0/bleu", "sample_t1/distinct_2",
                      "beam2/logprob_per_token"}
  # temperature 0 is greedy; beam search maximises the log-probability at least as well
  assert out["sample_t0/logprob_per_token"] == pytest.approx(out["greedy/logprob_per_token"])
  assert out["beam2/logprob_per_token"] >= out["greedy/logprob_per_token"] - 1e-6
  assert "⟦" in (tmp_path / "run" / "generations.md").read_text()


def test_lm_bad_inputs(tmp_path):
  with pytest.raises(DataError, match="not found"):
    make_task(lm_config(tmp_path / "missing.txt"))
  empty = tmp_path / "empty.txt"
  empty.write_text("  \n")
  with pytest.raises(DataError, match="has no text"):
    make_task(lm_config(empty))
  short = tmp_path / "short.txt"
  short.write_text("abc")
  with pytest.raises(DataError, match="too small"):
    make_task(lm_config(short))


def test_vocabulary_that_does_not_match_the_checkpoint_is_one_error(tmp_path):
  a, b = tmp_path / "a.txt", tmp_path / "b.txt"
  a.write_text(SHAKESPEARE_LIKE)
  b.write_text(SHAKESPEARE_LIKE.upper())
  loop.run(make_task(lm_config(a, steps=3)), tmp_path / "run")
  with pytest.raises(DataError, match="vocab.json .* does not match"):
    loop.run(make_task(lm_config(b, steps=6)), tmp_path / "run")
  from launch import run
  with pytest.raises(DataError, match="vocab.json"):
    run.evaluate(lm_config(b), tmp_path / "run", "valid", "latest")


def test_sst2_lstm_trains_through_the_classification_trainer(data_dir, tmp_path):
  c = text_classification.get_config()
  c.data.data_dir = str(data_dir)
  c.model.update(embed_dim=16, hidden=16, readout="mean", dropout_rate=0.0)
  c.train.update(batch_size=64, num_epochs=0, num_steps=80, log_every=40, eval_every=80,
                 progress=False)
  c.optimizer.learning_rate = 5e-3
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  task = make_task(c)
  widths = set()
  for _ in range(30):
    widths.add(next(task.batches)["inputs"].shape[1])
  assert widths <= set(c.data.buckets) and len(widths) > 1  # bucketed batches
  _, result = loop.run(make_task(c), tmp_path / "run")
  assert result["test"]["num_examples"] == 872
  assert result["test"]["accuracy"] > 0.6  # 80 steps of a tiny LSTM already beat chance


def test_sst2_too_long_sentence_is_one_error(data_dir):
  c = text_classification.get_config()
  c.data.update(data_dir=str(data_dir), max_length=20)
  with pytest.raises(DataError, match="max_len|longer|longest"):
    make_task(c)


def mt_config(data_dir, attention="bahdanau", **model):
  c = translation.get_config()
  c.data.data_dir = str(data_dir)
  c.model.update(embed_dim=16, hidden=16, dec_hidden=16, attention_dim=16, readout_dim=16,
                 attention=attention, **model)
  c.train.update(batch_size=64, num_epochs=0, num_steps=4, log_every=2, checkpoint_every=0,
                 progress=False)
  c.eval.batch_size = 500
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  c.evals = {"greedy": dict(type="bleu", split="val", decode="greedy"),
             "beam1": dict(type="bleu", split="val", decode="beam", beam_size=1),
             "heatmaps": dict(type="attention", split="val", examples=2)}
  return c


def test_label_smoothed_token_loss_matches_the_smoothed_cross_entropy():
  from dlcore.losses.classification import softmax_cross_entropy
  from experiments.translation import token_metrics
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 5, 11)).astype(np.float32) * 3
  targets = rng.integers(1, 11, (3, 5)).astype(np.int32)
  targets[0, 3:] = 0  # padding is left out of every average
  m = token_metrics(logits, targets, label_smoothing=0.1)
  keep = targets != 0
  want = np.asarray(softmax_cross_entropy(logits, targets, label_smoothing=0.1))[keep].mean()
  nll = np.asarray(softmax_cross_entropy(logits, targets))[keep].mean()
  np.testing.assert_allclose(float(m["smoothed_loss"].compute()), want, rtol=1e-5)
  np.testing.assert_allclose(float(m["loss"].compute()), nll, rtol=1e-5)  # reported: plain NLL
  assert "smoothed_loss" not in token_metrics(logits, targets)


def test_label_smoothing_out_of_range_is_a_config_error(data_dir):
  from dlcore.errors import ConfigError
  c = mt_config(data_dir)
  c.loss.label_smoothing = 1.0
  with pytest.raises(ConfigError, match="label_smoothing"):
    make_task(c)


@pytest.mark.slow
def test_translation_decodes_scores_and_draws(data_dir, tmp_path):
  _, result = loop.run(make_task(mt_config(data_dir, "luong", attention_index="current")),
                       tmp_path / "run")
  greedy, beam1 = result["greedy"], result["beam1"]
  assert greedy["num_examples"] == 1014
  assert "case:lc" in greedy["sacrebleu_signature"]
  assert beam1["logprob"] == pytest.approx(greedy["logprob"], rel=1e-5)  # beam 1 is greedy
  assert beam1["bleu"] == pytest.approx(greedy["bleu"])
  assert len(list((tmp_path / "run" / "attention").glob("heatmaps_*.png"))) == 2
  assert (tmp_path / "run" / "src_vocab.json").exists()


def test_translation_sentence_longer_than_the_model_allows(data_dir):
  c = mt_config(data_dir)
  c.data.max_length = 12
  with pytest.raises(DataError, match=r"max_length=12"):
    make_task(c)


def test_missing_multi30k_file_is_one_cli_error(tmp_path):
  (tmp_path / "multi30k").mkdir()
  proc = run_cli("launch.train", "--config", "configs/multi30k_gru.py", "--workdir",
                 str(tmp_path / "run"), f"--config.data.data_dir={tmp_path}",
                 "--config.mesh.num_devices=1", env={"XLA_FLAGS": ""}, timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr
  errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "not found" in errors[0], proc.stderr[-2000:]


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_word_and_bpe_corpora_encode_and_decode(tmp_path, kind):
  from experiments.language_model import encode_corpus
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = lm_config(text)
  c.data.update(tokenizer=kind, bpe_vocab_size=60)
  vocab, ids, detokenize = encode_corpus(c.data)
  assert ids["train"].dtype == np.int32 and ids["train"].min() >= 0
  assert ids["train"].max() < len(vocab) and vocab.unk_id not in set(ids["train"].tolist())
  assert detokenize(ids["train"][:12].tolist()).startswith("first citizen :")
