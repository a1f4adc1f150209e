"""T5-style text-to-text multitask learning (ARC-25, GEN-8): one encoder-decoder trained on two
tasks named by a prefix on the input, against the same model trained on each task alone.

  "translate german to english : ein mann ..."  ->  "a man ..."       (Multi30k de->en)
  "sst2 sentence : a gorgeous film ."           ->  "positive"        (SST-2, the label as text)

Data: `data.name='text_to_text'` (dlcore/data/text_to_text.py): one vocabulary for both sides
and both tasks (the 16,000 most frequent train tokens seen at least twice); T5's
examples-proportional mixing with the limit K = 29,000 (all of Multi30k train, a fixed 29,000
of SST-2's 66,349 training phrases).
Model: the Transformer encoder-decoder as configs/multi30k_transformer.py (3+3 post-LN layers,
d_model 256, 8 heads, d_ff 512, dropout 0.1) with the source, target and output embeddings
tied into one table (`model.share_embeddings`, as T5). Label smoothing 0.1, Adam 5e-4 (β2
0.98), 1 epoch of warm-up then cosine, clip 1, batches of 128, 6 epochs, the best validation
state restored.
Each model is scored on both tasks: BLEU on test_2016_flickr (greedy decoding; lowercased word
tokens as the other translation configs, sacreBLEU alongside) and SST-2 dev accuracy, an output
counting as right when it is exactly the label word.

Variants (launch/comparison.py, one command):
  multitask   both tasks mixed in every epoch (450 steps per epoch)
  translate   the translation task alone (about 225 steps per epoch)
  sst2        the SST-2 task alone (about 225 steps per epoch)
A single-task model has the shared vocabulary too, so the three have the same shapes; each is
scored on both tasks (a single-task model scores about 0 on the task it never saw).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/t5_multitask.py --workdir runs/t5_multitask
Expected: not yet measured (see the README): the multitask model within a few BLEU points of
          the translation-only model and within a few points of accuracy of the SST-2-only one.
Time:     not yet measured.
Curriculum: ARC-25, GEN-8, ARC-22.
"""

import ml_collections

from configs import multi30k_transformer
from configs.defaults import D, comparison


def get_config() -> ml_collections.ConfigDict:
  base = multi30k_transformer.get_config()
  base.name = "t5_multitask"
  base.data.update(name="text_to_text", tasks=("translate", "sst2"),
                   max_examples_per_task=29000, max_vocab=16000)
  base.model.share_embeddings = True
  base.optimizer.schedule.warmup_steps = 450
  base.train.num_epochs = 6
  base.evals = D({
      "eval": D(dict(type="metrics", split="val", every=227, at_end=False)),
      "bleu": D(dict(type="bleu", split="test_2016_flickr", decode="greedy", event="test")),
      "sst2": D(dict(type="match", split="sst2_dev", decode="greedy", event="test"))})
  c = comparison.get_config(base)
  c.metrics = ("bleu", "sacrebleu", "accuracy", "valid_output")
  c.title = "T5-style text-to-text: one model for translation and SST-2 vs single-task models"
  c.variants = D({
      "multitask": D(),
      "translate": D(dict(data=D(dict(tasks=("translate",))),
                          optimizer=D(dict(schedule=D(dict(warmup_steps=227)))))),
      "sst2": D(dict(data=D(dict(tasks=("sst2",))),
                     optimizer=D(dict(schedule=D(dict(warmup_steps=227)))))),
  })
  return c
