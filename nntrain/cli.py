"""The command line: parse arguments, call one function per command, turn errors into exit codes.

Exit codes: 0 ok, 1 internal bug, 2 usage or config, 3 input data, 4 numeric
divergence, 5 checkpoint, 130/143 interrupted by SIGINT/SIGTERM (after saving),
141 output pipe closed early. Tracebacks only with --debug.
"""

import os
import sys
import traceback
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from nntrain import __version__

app = typer.Typer(
    name="nntrain",
    help="Train neural networks from a YAML file, on a NumPy engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show only errors on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show more detail on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show a traceback when something fails.")]


def _display(quiet: bool, verbose: bool):
    from nntrain.commands.display import Display

    return Display(quiet=quiet, verbose=verbose)


def _version(value: bool) -> None:
    if value:
        print(f"nntrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                           help="Print the version and exit.")] = None) -> None:
    """Train neural networks from a YAML file, on a NumPy engine."""


@app.command()
def fit(
    config: Annotated[str, typer.Argument(help="YAML config file describing the run.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE",
                                            help="Override a config key, e.g. --set optimizer.lr=0.01 (repeatable).")] = [],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a run already in the output directory.")] = False,
    resume: Annotated[Optional[str], typer.Option("--resume", metavar="RUN_DIR|auto",
                                                  help="Continue an interrupted run (auto: the config's output dir).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Resume even if the config or data changed.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Train a model from a config file; checkpoints and logs go to the run directory."""
    with _exit_codes(debug):
        from nntrain.commands.fit import fit as run_fit

        run_fit(config, set_, _display(quiet, verbose), overwrite=overwrite, resume=resume, force=force)


@app.command("eval")
def eval_(
    run: Annotated[str, typer.Argument(help="Run directory or checkpoint file.")],
    data: Annotated[Optional[str], typer.Argument(help="Labelled CSV, or - for stdin; default: the run's test split.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Report loss and metrics of a trained model on labelled data."""
    with _exit_codes(debug):
        from nntrain.commands.evaluate import evaluate

        evaluate(run, data, _display(quiet, verbose), as_json=json_)


@app.command()
def predict(
    run: Annotated[str, typer.Argument(help="Run directory or checkpoint file.")],
    data: Annotated[str, typer.Argument(help="CSV file, or - for standard input.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the CSV here instead of stdout.")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per class.")] = False,
    on_error: Annotated[str, typer.Option("--on-error", metavar="error|skip",
                                          help="Rows that cannot be prepared: stop (exit 3), or skip them "
                                               "and add a `line` column.")] = "error",
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Write predictions for new rows as CSV, in the input's row order."""
    with _exit_codes(debug):
        from nntrain.commands.predict import predict as run_predict
        from nntrain.errors import ConfigError

        if on_error not in ("error", "skip"):
            raise ConfigError(f"--on-error: expected error or skip, got {on_error!r}")
        run_predict(run, data, _display(quiet, verbose), output=output, proba=proba, on_error=on_error)


@app.command()
def summary(
    source: Annotated[str, typer.Argument(help="Config file, run directory or checkpoint.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Show each layer's output shape and parameter count, like Keras' model.summary()."""
    with _exit_codes(debug):
        from nntrain.commands.summary import summary as run_summary

        run_summary(source, _display(quiet, verbose), set_, as_json=json_)


@app.command()
def data(
    config: Annotated[str, typer.Argument(help="YAML config file describing the run.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    json_: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object on stdout.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Run the data preparation without training and report rows, columns, splits and leaks."""
    with _exit_codes(debug):
        from nntrain.commands.data_report import data_report

        data_report(config, _display(quiet, verbose), set_, as_json=json_)


@app.command()
def plot(
    run: Annotated[str, typer.Argument(help="Run directory.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="PNG path; default RUN/curves.png.")] = None,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Draw training and validation curves of a run as a PNG (needs: pip install 'nntrain[plot]')."""
    with _exit_codes(debug):
        from nntrain.commands.plot import plot as run_plot

        run_plot(run, _display(quiet, verbose), output)


def main() -> None:
    """Console entry point."""
    app(prog_name="nntrain")


@contextmanager
def _exit_codes(debug: bool):
    """Turn everything a command can raise into a message on stderr and its exit code."""
    from nntrain.errors import NNTrainError

    debug = debug or bool(os.environ.get("NNTRAIN_DEBUG"))
    try:
        yield
    except NNTrainError as exc:
        if debug:
            traceback.print_exc()
        print(f"nntrain: error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python's exit flush from complaining.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None
    except Exception as exc:  # a bug: say so plainly, and how to see more
        if debug:
            traceback.print_exc()
        else:
            print(f"nntrain: internal error: {type(exc).__name__}: {exc}\n"
                  "This is a bug in nntrain; rerun with --debug for the traceback and please report it.",
                  file=sys.stderr)
        raise typer.Exit(1) from None
