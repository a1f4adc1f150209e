"""Default of a comparison (`experiment='comparison'`, launch/comparison.py): several
variants of one base config trained and compared in one command.

Sections: every section of the base config (by default configs.defaults.classification's), plus
  title:           the heading of comparison.md
  base_experiment: the experiment each variant runs (the base config's `experiment`)
  variants:        {variant name: nested overrides of the base config} (empty here)
  parallel:        how many variants train at once, each in its own process (1: one after the
                   other in this process; e.g. --config.parallel=4)
Optional keys a comparison may add: report_train_split, report_per_class, weight_histograms.
"""

import ml_collections

from configs.defaults import classification


def get_config(base: ml_collections.ConfigDict | None = None) -> ml_collections.ConfigDict:
  """`base` (default: the classification default) turned into a comparison of its variants."""
  c = classification.get_config() if base is None else base
  c.title = ""
  c.base_experiment = c.experiment
  c.experiment = "comparison"
  c.variants = ml_collections.ConfigDict()
  c.parallel = 1
  return c
