"""Memory this machine can give a run: refuse up front what cannot fit.

Available memory is the smallest of the kernel's estimate for new allocations (MemAvailable),
the room left under a cgroup limit (containers, batch schedulers) and under the process's own
address-space limit (`ulimit -v`, `prlimit --as`). A refusal names the estimate, the limit and
what to change, and happens before the memory is touched, never as a MemoryError halfway.
"""

import re
import resource
from pathlib import Path

from nntrain.errors import ConfigError


def available_bytes() -> int | None:
    """Bytes this process can still allocate, or None when the machine does not say."""
    limits = [_kib_field("/proc/meminfo", "MemAvailable"), _cgroup_room(), _address_space_room()]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def refuse_if_too_big(needed: int, what: str, change: str) -> None:
    """ConfigError (exit 2) if `needed` bytes for `what` exceed what is available; `change` says what to do."""
    available = available_bytes()
    if available is not None and needed > available:
        raise ConfigError(f"{what} needs about {human_bytes(needed)}, but only {human_bytes(available)} of memory "
                          f"is available; {change}")


UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """Bytes in a size such as `512MB`, `2GB`, `1.5 GiB` or `1000000` (decimal units, as `human_bytes` writes
    them; KiB, MiB, GiB binary); ValueError for anything else."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not found or found.group(2).upper() not in UNITS:
        raise ValueError(f"expected a size such as 512MB or 2GB, got {text!r}")
    return int(float(found.group(1)) * UNITS[found.group(2).upper()])


def human_bytes(count: int) -> str:
    """1.5 KB, 37.2 MB, 4.0 GB, 2.1 TB: decimal units, as free(1) -h and most people read them."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _kib_field(path: str, field: str) -> int | None:
    """A `Field:  123 kB` line of a /proc file, in bytes."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def _address_space_room() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    size = _kib_field("/proc/self/status", "VmSize")
    return None if size is None else max(0, soft - size)
