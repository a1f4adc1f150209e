"""Experiment configs: one file per experiment, each with `get_config()` returning its ConfigDict.

Every config derives from a family default in `configs.defaults` (or from another config) and
overrides only what differs.
"""
