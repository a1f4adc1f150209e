"""GloVe (ARC-40; LOSS-20; Pennington et al. 2014) on the SST-2 train phrases: 1/distance-weighted
co-occurrence counts within 10 words, f(x) = min(1, (x/100)^0.75), canonical AdaGrad at 0.05
as the paper, vectors w + w̃; judged like configs/word2vec.py (nearest neighbours, the SST-2
averaged-vector probe beside bag of words).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/glove.py --workdir runs/glove
Expected: SST-2 dev accuracy of the averaged-vector probe 0.6686 vs bag of words 0.8096 (same
          reasons as configs/word2vec.py, and GloVe's w + w̃ lean on frequent function words:
          "film": is, that, 's, this, the, ... movie); final weighted loss 0.0073 per entry.
Time:     1 min 35 s (5,280 steps at ~66 steps/s, 722,717 non-zero X_ij, then the probe), the 2
          cores shared with other runs.
Curriculum: ARC-40, LOSS-20.
"""

import ml_collections

from configs.defaults import embeddings


def get_config() -> ml_collections.ConfigDict:
  c = embeddings.get_config("glove")
  c.name = "glove"
  c.train.update(batch_size=4096, num_epochs=30, log_every=500)
  return c
