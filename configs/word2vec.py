"""word2vec (ARC-37..39; LOSS-19; Mikolov et al. 2013) on the SST-2 train phrases (574,081
words, 11,174 of min_count 5), judged by nearest neighbours and by an SST-2 sentiment probe
(averaged word vectors -> logistic regression, dev accuracy, beside a bag-of-words logistic
regression). Switches: `--config.model.variant=skipgram|cbow`,
`--config.loss.name=negative_sampling|softmax` (configs/word2vec_compare.py runs the four and
compares their neighbours). Subsampling t = 1e-4, not the paper's 1e-5: on this corpus 1e-5
keeps only ~8% of the tokens (266k skip-gram pairs an epoch instead of 918k).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/word2vec.py --workdir runs/word2vec
Expected: SST-2 dev accuracy of the averaged-vector probe 0.7328, below the bag-of-words
          logistic regression on the same tokens, 0.8096 (91.7% of the dev tokens are in the
          vocabulary): 100-d averages of vectors learnt from 574k words of nested, duplicated
          phrases lose the word-level polarity cues that the 13k-feature count model keeps
          (and ignore word order as it does). The final NS loss is 1.18 (k = 5); the
          neighbour table (neighbours.md) is dominated by rare words ("good": barrie,
          yarn-spinner, ...): the repeated sub-phrases overfit the rare words' vectors. The
          Multi30k vectors of configs/word2vec_compare.py are far cleaner.
Time:     4 min 54 s (4,485 steps at ~15 steps/s, then the probe, 20 s), the 2 cores shared
          with other trainings.
Curriculum: ARC-37, ARC-38, ARC-39, LOSS-19.
"""

import ml_collections

from configs.defaults import embeddings


def get_config() -> ml_collections.ConfigDict:
  c = embeddings.get_config()
  c.name = "word2vec"
  c.train.num_epochs = 5
  return c
