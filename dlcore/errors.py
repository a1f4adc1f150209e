"""The one exception type dlcore raises for problems a user can fix.

Every `DlcoreError` carries one actionable sentence. The launcher prints that sentence (no
traceback) and exits with status 2.
"""


def first_line(e: BaseException, limit: int | None = 160) -> str:
  """The first line of an exception's message (at most `limit` characters; None: all of it),
  '' when empty: what a one-line error quotes of an underlying library error."""
  lines = str(e).strip().splitlines()
  return lines[0].strip()[:limit] if lines else ""


class DlcoreError(Exception):
  """A problem with the user's input (config, data, names) stated in one actionable sentence."""


class ConfigError(DlcoreError):
  """An unknown or ill-typed config key, or an inconsistent config."""


class DataError(DlcoreError):
  """A missing, corrupt or inconsistent data file or directory."""


class NonFiniteLossError(DlcoreError):
  """The loss became NaN or Inf during training."""
