"""Reading a project's zip archive and its ``.npz`` arrays without trusting a byte of it.

:mod:`zipfile` and ``numpy.load`` are written for files their own program made: fed a
damaged or hostile archive they raise ``zlib.error``, ``RuntimeError`` (the "encrypted"
flag), ``NotImplementedError`` (an unknown compression method), or allocate whatever an
array header claims (``MemoryError`` for 10^12 elements), and a small archive can inflate
to gigabytes. Here every size is checked *before* anything is allocated or inflated:

- each member read must be stored or deflated, not encrypted, and declare an uncompressed
  size within the caller's limit and within :data:`MAX_RATIO` times its compressed size
  (zipfile then never inflates past the declared size);
- a :class:`Budget` bounds the total bytes inflated for one project;
- an ``.npy`` header must describe a 1-D, C-ordered array of the expected dtype whose byte
  size equals what the member holds; the data is read straight into the array.

Every failure is a :class:`ArchiveError` (one line, no file name: the caller adds it).
"""

from __future__ import annotations

import ast
import io
import struct
import zipfile
import zlib

import numpy as np

#: A member larger than this must not inflate more than MAX_RATIO times its packed size.
#: Quanta's own ``song.npz`` packs 4–16×; only ``song.mid`` (never read back) goes higher.
MAX_RATIO = 200
RATIO_FREE_BYTES = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
_MAX_NPY_HEADER = 4096
#: Everything zipfile, zlib and struct raise on a damaged archive.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    RuntimeError,
    NotImplementedError,
    OverflowError,
    UnicodeDecodeError,
    KeyError,
    IndexError,
    TypeError,
)


class ArchiveError(Exception):
    """The archive is damaged or hostile; the message says how (one line)."""


class Budget:
    """Bytes left to inflate for one project (the total bound of a zip bomb)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.left = limit

    def take(self, n: int, what: str) -> None:
        if n > self.left:
            raise ArchiveError(
                f"{what} would unpack past the {self.limit // 1048576} MB limit for a project"
            )
        self.left -= n


def open_zip(data: bytes | io.BytesIO, what: str) -> zipfile.ZipFile:
    """Open an archive held in memory; ArchiveError when it is not a readable zip."""
    try:
        return zipfile.ZipFile(data if isinstance(data, io.BytesIO) else io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ArchiveError(f"{what} is not a readable zip archive ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def member_info(z: zipfile.ZipFile, name: str, limit: int, budget: Budget) -> zipfile.ZipInfo:
    """The checked entry of ``name`` (KeyError if absent); charges its size to ``budget``."""
    info = z.getinfo(name)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{name} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(f"{name} uses compression method {info.compress_type}, not deflate")
    size, packed = info.file_size, info.compress_size
    if size < 0 or packed < 0:
        raise ArchiveError(f"{name} has a damaged size field")
    if size > limit:
        raise ArchiveError(f"{name} declares {size} bytes, more than a project may hold")
    if size > RATIO_FREE_BYTES and size > MAX_RATIO * max(packed, 1):
        raise ArchiveError(
            f"{name} would inflate {size // max(packed, 1)}× ({packed} → {size} bytes); "
            "refused as a zip bomb"
        )
    budget.take(size, name)
    return info


def read_member(z: zipfile.ZipFile, name: str, limit: int, budget: Budget) -> bytes:
    """The bytes of one member, every size checked first. KeyError if it is missing."""
    info = member_info(z, name, limit, budget)
    try:
        with z.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except ZIP_ERRORS as exc:
        raise ArchiveError(f"{name} is damaged ({_reason(exc)})") from None
    if len(data) != info.file_size:
        raise ArchiveError(f"{name} holds {len(data)} bytes, its header says {info.file_size}")
    return data


def _npy_header(fh, name: str) -> tuple[dict, int]:
    """Parse an ``.npy`` header (format 1–3) by hand: numpy's parser trusts the shape."""
    magic = fh.read(8)
    if len(magic) != 8 or magic[:6] != _NPY_MAGIC:
        raise ArchiveError(f"{name} is not a numpy array")
    major = magic[6]
    if major == 1:
        raw = fh.read(2)
        hlen = int.from_bytes(raw, "little") if len(raw) == 2 else -1
        used = 10
    elif major in (2, 3):
        raw = fh.read(4)
        hlen = int.from_bytes(raw, "little") if len(raw) == 4 else -1
        used = 12
    else:
        raise ArchiveError(f"{name}: numpy array format {major} is unknown")
    if not 0 < hlen <= _MAX_NPY_HEADER:
        raise ArchiveError(f"{name} has a damaged array header")
    text = fh.read(hlen)
    if len(text) != hlen:
        raise ArchiveError(f"{name} has a truncated array header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError, UnicodeDecodeError):
        raise ArchiveError(f"{name} has a damaged array header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ArchiveError(f"{name} has a damaged array header")
    return header, used + hlen


def read_array(
    z: zipfile.ZipFile, name: str, dtype: np.dtype, limit: int, budget: Budget
) -> np.ndarray:
    """A 1-D array of exactly ``dtype`` from an ``.npy`` member of an ``.npz`` archive.

    The header is checked against the member's declared size before the array is allocated;
    the data is read straight into it (no intermediate copy). KeyError if it is missing.
    """
    info = member_info(z, name, limit, budget)
    try:
        with z.open(info) as fh:
            header, used = _npy_header(fh, name)
            try:
                got = np.dtype(np.lib.format.descr_to_dtype(header["descr"]))
            except (ValueError, TypeError, KeyError, IndexError, SyntaxError, RecursionError):
                raise ArchiveError(f"{name} has an unknown element type") from None
            shape = header["shape"]
            if (
                got != dtype
                or header["fortran_order"] not in (False, True)
                or not isinstance(shape, tuple)
                or len(shape) != 1
                or not isinstance(shape[0], int)
                or isinstance(shape[0], bool)
            ):
                raise ArchiveError(f"{name} has the wrong layout")
            count = shape[0]
            if count < 0 or count * dtype.itemsize != info.file_size - used:
                raise ArchiveError(
                    f"{name} claims {count} elements, its data holds {info.file_size - used} bytes"
                )
            out = np.empty(count, dtype=dtype)
            view = memoryview(out.view(np.uint8))
            pos = 0
            while pos < view.nbytes:
                n = fh.readinto(view[pos:])
                if not n:
                    raise ArchiveError(f"{name} is truncated")
                pos += n
            if fh.read(1):
                raise ArchiveError(f"{name} holds more data than its header says")
    except ArchiveError:
        raise
    except ZIP_ERRORS as exc:
        raise ArchiveError(f"{name} is damaged ({_reason(exc)})") from None
    return out
