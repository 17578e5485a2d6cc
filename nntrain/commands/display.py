"""What commands show people, on stderr: notes, warnings, tables and training progress.

Rich is imported only when a table or a progress bar is drawn, so commands that
only write data (predict) start fast.
"""

import os
import sys
from functools import cached_property


class Display:
    def __init__(self, quiet: bool = False, verbose: bool = False):
        self.quiet = quiet
        self.verbose = verbose

    @cached_property
    def console(self):
        from rich.console import Console

        return Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)

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

    def show(self, renderable, min_width: int | None = None) -> None:
        """Print a Rich table or text to stderr; hidden by --quiet.

        `min_width` widens the 80 columns Rich assumes when stderr is not a terminal (a log
        file has no width); a real terminal's width is kept.
        """
        if self.quiet:
            return
        width = self.console.width
        if not self.console.is_terminal:
            self.console.width = max(width, min_width or 0)
        try:
            self.console.print(renderable)
        finally:
            self.console.width = width

    def reporter(self, columns: list[str]):
        """Progress bars on a terminal, one line per epoch otherwise, nothing when quiet.

        `columns` are the metrics shown for each epoch (the logs keep them all).
        """
        from nntrain.train.progress import PlainReporter, Reporter, RichReporter

        if self.quiet:
            return Reporter()
        if sys.stderr.isatty() and self.console.is_terminal:
            return RichReporter(columns, self.console)
        return PlainReporter(columns)


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
