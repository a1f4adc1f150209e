"""The one exception type dlcore raises for problems a user can fix.

Every `DlcoreError` carries one actionable sentence. The launcher prints that sentence (no
traceback) and exits with status 2.
"""


class DlcoreError(Exception):
  """A problem with the user's input (config, data, names) stated in one actionable sentence."""


class ConfigError(DlcoreError):
  """An unknown or ill-typed config key, or an inconsistent config."""


class DataError(DlcoreError):
  """A missing, corrupt or inconsistent data file or directory."""


class NonFiniteLossError(DlcoreError):
  """The loss became NaN or Inf during training."""
