"""Progress of a long pass before training (decoding images): a bar on terminals, nothing in logs."""

import io

from rich.console import Console

from nntrain.train.progress import PlainReporter, Reporter, RichReporter


def test_a_pass_shows_a_bar_on_a_terminal_and_nothing_elsewhere():
    screen = io.StringIO()
    reporter = RichReporter(Console(file=screen, force_terminal=True, width=80))
    with reporter.task("decoding 3 images", 3) as advance:
        for _ in range(3):
            advance(1)
    assert "decoding 3 images" in screen.getvalue() and "3/3" in screen.getvalue()
    log = io.StringIO()
    for quiet in (PlainReporter(log), Reporter()):
        with quiet.task("decoding 3 images", 3) as advance:
            advance(3)
    assert log.getvalue() == ""
