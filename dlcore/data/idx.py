"""IDX file reader (the MNIST format, curriculum DS-1), gzip-compressed or raw.

Layout: a big-endian magic 0x0000TTDD (TT = element type code, DD = number of dims), DD
big-endian uint32 sizes, then the elements row-major. MNIST images have magic 2051
(0x00000803: uint8, 3 dims), labels 2049 (0x00000801: uint8, 1 dim). Every failure is one
`DataError` sentence naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from dlcore.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# IDX type code -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def unreadable(path: str, e: OSError) -> DataError:
  """The DataError for a file that exists but cannot be read (permissions, I/O error)."""
  if isinstance(e, PermissionError):
    return DataError(f"cannot read {path}: permission denied; fix its permissions "
                     f"(e.g. chmod a+r {path}).")
  reason = e.strerror or str(e) or type(e).__name__
  return DataError(f"cannot read {path}: {reason}; check the file and its disk, or re-copy it.")


def _read_bytes(path: str) -> bytes:
  if not os.path.isfile(path):
    raise DataError(f"IDX file {path} not found.")
  if not path.endswith(".gz"):
    try:
      with open(path, "rb") as f:
        return f.read()
    except OSError as e:
      raise unreadable(path, e) from None
  try:
    with gzip.open(path, "rb") as f:
      return f.read()
  except PermissionError as e:
    raise unreadable(path, e) from None
  except EOFError:
    raise DataError(f"IDX file {path} is a truncated gzip stream; re-copy or re-download "
                    "it.") from None
  except gzip.BadGzipFile:
    raise DataError(f"IDX file {path} is not gzip data although its name ends in .gz.") from None
  except (zlib.error, OSError) as e:
    if isinstance(e, OSError) and e.errno is not None:  # the system refused, not the data
      raise unreadable(path, e) from None
    raise DataError(f"IDX file {path} could not be decompressed ({e}); re-copy it.") from None


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
  """Reads an IDX(.gz) file into a writable native-endian array of its header's shape.

  `expected_magic` (e.g. `IMAGES_MAGIC`) additionally pins the element type and rank.
  """
  path = os.fspath(path)
  data = _read_bytes(path)
  if len(data) < 4:
    raise DataError(f"IDX file {path} is only {len(data)} bytes long, shorter than an IDX header.")
  (magic,) = struct.unpack(">I", data[:4])
  type_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
  if expected_magic is not None and magic != expected_magic:
    raise DataError(f"IDX file {path} has bad magic number {magic} (0x{magic:08X}); expected "
                    f"{expected_magic} (0x{expected_magic:08X}).")
  if magic >> 16 != 0 or type_code not in IDX_DTYPES or ndim == 0:
    raise DataError(f"IDX file {path} has bad magic number {magic} (0x{magic:08X}); expected "
                    f"0x0000TTDD with type TT in {{08,09,0B,0C,0D,0E}} and DD >= 1 dims "
                    f"(2051 for images, 2049 for labels).")
  header = 4 + 4 * ndim
  if len(data) < header:
    raise DataError(f"IDX file {path} ends inside its header ({len(data)} of {header} bytes).")
  dims = struct.unpack(f">{ndim}I", data[4:header])
  dtype = IDX_DTYPES[type_code]
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  payload = len(data) - header
  if payload != expected:
    kind = "shorter" if payload < expected else "longer"
    raise DataError(f"IDX file {path} payload is {payload} bytes, {kind} than the {expected} "
                    f"bytes its header {tuple(dims)} says; the file is truncated or corrupt.")
  arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
  return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=True)
