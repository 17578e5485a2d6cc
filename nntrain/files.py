"""Files written so that a crash or a full disk never leaves a torn one, and read back checked.

`write_atomic` writes to a temporary file in the same folder, flushes and fsyncs it, then
renames it over the target: readers see the old file or the new one, never half of one.
`append_text` adds lines to a log and, if the write fails, cuts the file back to where it was.
`file_sha256` is the digest the manifests of prepared directories and image caches record.
"""

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def write_atomic(path: Path, write: Callable[[object], None]) -> None:
    """Replace `path` with what `write(handle)` writes to a binary file; OSError if it cannot."""
    path = Path(path)
    temporary = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        fsync_path(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda handle: handle.write(data))


def append_text(path: Path, text: str) -> None:
    """Append whole lines; on failure (disk full) truncate back, so the log never ends in a torn line."""
    with open(path, "ab") as handle:
        size = handle.tell()
        try:
            handle.write(text.encode("utf-8"))
            handle.flush()
        except OSError:
            handle.truncate(size)
            raise


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a write that was killed."""
    for leftover in Path(folder).glob(f"{TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)


def file_sha256(path: Path, block: int = 1 << 24) -> str:
    """SHA-256 of a file read in blocks (read, not mapped: the pages do not count as the process's memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while piece := handle.read(block):
            digest.update(piece)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a written file, or a folder's entries (after a rename), to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
