"""Default of a suite (`experiment='suite'`, launch/suite.py): several configs run as one
command, their reports concatenated into report.md.

Sections:
  name, title, experiment
  data_dir: when set, the data.data_dir of every run that reads one
  runs:     {run name: 'configs/<name>.py'} (empty here)
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "suite"
  c.title = ""
  c.experiment = "suite"
  c.data_dir = ""
  c.runs = ml_collections.ConfigDict()
  return c
