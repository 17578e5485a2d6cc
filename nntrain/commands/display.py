"""What commands show: results on stdout, notes, warnings and progress on stderr.

A result (the table `eval`, `summary`, `data`, `check` and `runs` exist to print) goes
to stdout: a Rich table on a terminal, plain aligned text (no box characters, no
padding at line ends) when piped or under NO_COLOR. Rich is imported only when
something is drawn on a terminal, so commands that only write data start fast.
"""

import os
import platform
import sys
from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class Table:
    """A table as plain strings, rendered by `Display` for the stream it goes to."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str | None = None
    right: tuple[int, ...] = ()       # indexes of right-aligned columns
    header: bool = True
    footer: int = 0                   # how many final rows are totals (set off by a rule on a terminal)

    def add(self, *cells) -> None:
        self.rows.append([str(cell) for cell in cells])


def plain_text(table: Table) -> str:
    """The table as aligned text: columns two spaces apart, nothing after the last character of a line."""
    lines = [table.columns] if table.header else []
    lines += table.rows
    widths = [max(len(line[i]) for line in lines) for i in range(len(table.columns))] if lines else []
    text = [] if table.title is None else [table.title]
    for line in lines:
        cells = [cell.rjust(width) if i in table.right else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(line, widths))]
        text.append("  ".join(cells).rstrip())
    return "\n".join(text) + "\n"


def _rich_table(table: Table):
    from rich.table import Table as RichTable

    view = RichTable(title=table.title, title_justify="left", show_header=table.header)
    for index, heading in enumerate(table.columns):
        view.add_column(heading, justify="right" if index in table.right else "left")
    for index, row in enumerate(table.rows):
        if table.footer and index == len(table.rows) - table.footer:
            view.add_section()
        view.add_row(*row)
    return view


def _fancy(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Display:
    def __init__(self, quiet: bool = False, verbose: bool = False):
        self.quiet = quiet
        self.verbose = verbose

    @cached_property
    def console(self):
        """Rich console on stderr (only built when stderr is a terminal)."""
        from rich.console import Console

        return Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")) or None)

    @cached_property
    def out(self):
        from rich.console import Console

        return Console(file=sys.stdout, highlight=False)

    def note(self, message: str) -> None:
        """Information a person may want; hidden by --quiet."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def detail(self, message: str) -> None:
        """Information shown only with --verbose."""
        if self.verbose and not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print(f"warning: {message}", file=sys.stderr, flush=True)

    def result(self, table: Table) -> None:
        """A command's result on stdout, whatever --quiet says."""
        if _fancy(sys.stdout):
            self.out.print(_rich_table(table))
        else:
            sys.stdout.write(plain_text(table))
            sys.stdout.flush()

    def result_text(self, text: str, syntax: str | None = None, title: str | None = None) -> None:
        """Text that is part of a result (e.g. YAML), highlighted on a terminal."""
        if syntax and _fancy(sys.stdout):
            from rich.panel import Panel
            from rich.syntax import Syntax

            self.out.print(Panel(Syntax(text.rstrip(), syntax, background_color="default"), title=title,
                                 title_align="left"))
        else:
            sys.stdout.write((f"{title}\n" if title else "") + text.rstrip("\n") + "\n")
            sys.stdout.flush()

    def info(self, table: Table) -> None:
        """A table for people on stderr (e.g. fit's closing summary); hidden by --quiet."""
        if self.quiet:
            return
        if _fancy(sys.stderr):
            self.console.print(_rich_table(table))
        else:
            sys.stderr.write(plain_text(table))
            sys.stderr.flush()

    def reporter(self):
        """Notes and progress for a run: bars on a terminal, one line per epoch otherwise, nothing when quiet."""
        from nntrain.train.progress import PlainReporter, Reporter, RichReporter

        if self.quiet:
            return Reporter()
        if sys.stderr.isatty():  # bars even under NO_COLOR, just without colour
            return RichReporter(self.console)
        return PlainReporter()


def human_duration(seconds) -> str:
    """42.0s, 3m 05s, 2h 07m: the units a person reads at a glance."""
    if not isinstance(seconds, (int, float)):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def describe_environment() -> str:
    """What --verbose shows first: the versions, and the BLAS library doing the matrix products."""
    import numpy as np

    from nntrain import __version__

    blas = "unknown BLAS"
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{info.get('name', 'BLAS')} {info.get('version', '')}".strip()
    except Exception:  # numpy's build report changes between versions; it is only a detail
        pass
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    return (f"nntrain {__version__}, Python {platform.python_version()}, NumPy {np.__version__} with {blas} "
            f"(BLAS threads: {threads}, {os.cpu_count()} cores)")
