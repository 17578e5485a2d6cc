"""The command line: parse arguments, call one function per command, turn errors into exit codes.

Exit codes: 0 ok, 1 internal bug, 2 usage or config, 3 input data, 4 numeric
divergence, 5 checkpoint, 130/143 interrupted by SIGINT/SIGTERM (after saving),
141 output pipe closed early. Tracebacks only with --debug.
"""

import inspect
import os
import sys
import time
import traceback
import warnings
from contextlib import contextmanager
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from nntrain import __version__

# Help and usage errors are drawn by Rich on a terminal and are Click's plain text when piped or redirected:
# Typer's Rich formatting imports Rich's Markdown, syntax and traceback renderers, most of `--help`'s time.
RICH_HELP = sys.stdout.isatty() and sys.stderr.isatty()
MARKUP = "rich" if RICH_HELP else None


def _extra(name: str) -> str:
    """`nntrain[name]`, the package with an optional extra; Rich markup would read an unescaped [name] as a tag."""
    bracket = "\\[" if RICH_HELP else "["
    return f"nntrain{bracket}{name}]"


def _needs(name: str) -> str:
    return f"(needs: pip install '{_extra(name)}')"


class _Group(TyperGroup):
    """Plain help as the Rich help has it: each command listed with the first paragraph of its help (Click's own
    list cuts it to one line), and a group run without arguments printing it on stdout (Click's, on stderr)."""

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help and self.rich_markup_mode is None and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def format_commands(self, ctx, formatter):
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split()))
                for name, command in commands if command is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="nntrain",
    cls=_Group,
    help="Train neural networks from a YAML file, on a NumPy engine.",
    rich_markup_mode=MARKUP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show only errors on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also show the versions and BLAS library in use, "
                                                               "and more detail, on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show a traceback when something fails.")]


def _display(quiet: bool, verbose: bool):
    from nntrain.commands.display import Display, describe_environment

    display = Display(quiet=quiet, verbose=verbose)
    if verbose:
        display.detail(describe_environment())
    return display


def _version(value: bool) -> None:
    if value:
        print(f"nntrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                           help="Print the version and exit.")] = None) -> None:
    """Train neural networks from a YAML file, on a NumPy engine."""


@app.command(epilog="\b\nExamples:\n  nntrain fit configs/iris.yaml\n  nntrain fit configs/iris.yaml --set optimizer.lr=0.01 --set training.epochs=50\n  nntrain fit configs/iris.yaml --resume auto\n  nntrain fit configs/iris.yaml --processes 2\n  mpiexec -n 8 nntrain fit configs/iris.yaml\n")
def fit(
    config: Annotated[str, typer.Argument(help="YAML config file describing the run.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE",
                                            help="Override a config key, e.g. --set optimizer.lr=0.01 (repeatable).")] = [],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a run already in the output directory.")] = False,
    resume: Annotated[Optional[str], typer.Option("--resume", metavar="RUN_DIR|auto",
                                                  help="Continue an interrupted run (auto: the config's output dir).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Resume even if the config or data changed.")] = False,
    log_every: Annotated[Optional[int], typer.Option("--log-every", metavar="N", min=1,
                                                     help="When progress is plain text (piped), print every Nth "
                                                          "epoch plus the improving ones and the last "
                                                          "(sets training.log_every).")] = None,
    processes: Annotated[Optional[int], typer.Option("--processes", min=1, metavar="N",
                                                     help="Train on N processes of this machine, through "
                                                          f"the bundled mpiexec (needs {_extra('mpi')}).")] = None,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Train a model from a config file; checkpoints and logs go to the run directory."""
    started = time.monotonic()  # before the engine loads: a fit's `seconds` count the whole command
    with _exit_codes(debug):
        from nntrain.commands.fit import fit as run_fit, launch

        if processes is not None:
            launch(processes, sys.argv[1:])

        run_fit(config, set_, _display(quiet, verbose), overwrite=overwrite, resume=resume, force=force,
                log_every=log_every, started=started)


@app.command("eval", epilog="\b\nExamples:\n  nntrain eval runs/iris\n  nntrain eval runs/iris new-labelled.csv --json\n  cat labelled.csv | nntrain eval runs/iris -\n")
def eval_(
    run: Annotated[str, typer.Argument(help="Run directory or checkpoint file.")],
    data: Annotated[Optional[str], typer.Argument(help="Labelled CSV or Parquet, or - for stdin; default: the run's test split.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Report loss and metrics of a trained model on labelled data."""
    with _exit_codes(debug):
        from nntrain.commands.eval import evaluate

        evaluate(run, data, _display(quiet, verbose), as_json=json_)


@app.command(epilog="\b\nExamples:\n  nntrain predict runs/iris new.csv > predictions.csv\n  nntrain predict runs/digits photos/ --proba\n  nntrain predict runs/iris new.csv --keep id\n  ls photos/*.png | nntrain predict runs/digits -\n")
def predict(
    run: Annotated[str, typer.Argument(help="Run directory or checkpoint file.")],
    data: Annotated[str, typer.Argument(help="CSV or Parquet file, or - for standard input.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the CSV here instead of stdout.")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per class.")] = False,
    on_error: Annotated[str, typer.Option("--on-error", metavar="error|skip",
                                          help="Rows that cannot be prepared: stop (exit 3), or skip them "
                                               "and add a `line` (Parquet: `row`) column.")] = "error",
    keep: Annotated[list[str], typer.Option("--keep", metavar="COLUMN",
                                            help="Copy this input column (e.g. an ID) in front of the predictions, "
                                                 "as written; repeat for more, or `--keep all`.")] = [],
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Write predictions for new rows as CSV, in the input's row order."""
    with _exit_codes(debug):
        from nntrain.commands.predict import predict as run_predict
        from nntrain.errors import ConfigError

        if on_error not in ("error", "skip"):
            raise ConfigError(f"--on-error: expected error or skip, got {on_error!r}")
        run_predict(run, data, _display(quiet, verbose), output=output, proba=proba, on_error=on_error,
                    keep=keep)


@app.command(epilog="\b\nExamples:\n  nntrain summary configs/digits.yaml\n  nntrain summary runs/iris --json\n")
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


@app.command(epilog="\b\nExamples:\n  nntrain data configs/penguins.yaml\n  nntrain data configs/penguins.yaml --json | jq .rows_used\n")
def data(
    config: Annotated[str, typer.Argument(help="YAML config file describing the run.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    json_: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object on stdout.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Run the data preparation without training and report rows, columns, splits and leaks."""
    with _exit_codes(debug):
        from nntrain.commands.data import data_report

        data_report(config, _display(quiet, verbose), set_, as_json=json_)


@app.command(epilog="\b\nExamples:\n  nntrain prepare configs/big.yaml\n  nntrain prepare configs/big.yaml -o /data/big.prepared\n")
def prepare(
    config: Annotated[str, typer.Argument(help="YAML config file whose data.train table to prepare.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="The prepared directory to write; default "
                                                  "beside the table, NAME.prepared.")] = None,
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Prepare a table bigger than memory in streaming passes into float32 arrays that fit and eval memory-map
    (data.train may name the directory); prints the directory."""
    with _exit_codes(debug):
        from nntrain.commands.prepare import prepare as run_prepare

        run_prepare(config, output, set_, _display(quiet, verbose))


@app.command(help="Draw a run's training and validation curves, or a sweep's optimisation history and parameter "
             f"importances, as PNG {_needs('plot')}.",
             epilog="\b\nExamples:\n  nntrain plot runs/iris\n  nntrain plot runs/iris -o iris-curves.png\n"
                     "  nntrain plot sweeps/iris\n")
def plot(
    run: Annotated[str, typer.Argument(help="Run directory, or a sweep directory (or its storage URL).")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="PNG path; default RUN/curves.png. For a "
                                                  "sweep: the folder for history.png and importances.png, default "
                                                  "the sweep directory.")] = None,
    study: Annotated[Optional[str], typer.Option("--study", metavar="NAME",
                                                 help="For a storage with several studies: which one.")] = None,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    with _exit_codes(debug):
        from nntrain.commands.plot import plot as run_plot

        run_plot(run, _display(quiet, verbose), output, study)


@app.command(help="Write a run's model as one ONNX file: raw columns (or images) in, predictions and probabilities "
             f"out, the fitted preparation inside {_needs('onnx')}.",
             epilog="\b\nExamples:\n  nntrain export runs/iris -o iris.onnx\n  nntrain export runs/digits/best.npz -o digits.onnx\n")
def export(
    run: Annotated[str, typer.Argument(help="Run directory or checkpoint file.")],
    output: Annotated[str, typer.Option("--output", "-o", help="The ONNX file to write.")],
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    with _exit_codes(debug):
        from nntrain.commands.export import export as run_export

        run_export(run, output, _display(quiet, verbose))


@app.command(epilog="\b\nExamples:\n  nntrain init --data my.csv -o my.yaml\n  nntrain init --data my.csv -o my.yaml --sweep\n  nntrain init --data my.csv --target price --task regression > price.yaml\n  nntrain init --data photos/ -o photos.yaml\n")
def init(
    task: Annotated[Optional[str], typer.Option("--task", metavar="classification|regression|images",
                                                help="What to learn; default guessed from --data.")] = None,
    data: Annotated[Optional[str], typer.Option("--data", help="CSV or Parquet file, or image folder (one subfolder per class) "
                                                               "to fill the config in from.")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Column to predict; default a column named "
                                                                   "target, label, class, y... or the last one.")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the config here instead of stdout.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --output file if it exists.")] = False,
    sweep: Annotated[bool, typer.Option("--sweep", help="Also write NAME.sweep.yaml beside -o NAME.yaml: a "
                                                        "hyperparameter search for `nntrain sweep`.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Write a commented starter config, filled in from your data, that `nntrain fit` can train as is."""
    with _exit_codes(debug):
        from nntrain.commands.init import init as run_init

        run_init(task, data, target, output, force, _display(quiet, verbose), sweep=sweep)


@app.command(epilog="\b\nExamples:\n  nntrain check configs/iris.yaml\n  nntrain check my.yaml --set training.batch_size=64\n")
def check(
    config: Annotated[str, typer.Argument(help="YAML config file describing the run.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Validate a config and its data without training: resolved config, data report, model summary.

    Exits 0 only when `nntrain fit` would start.
    """
    with _exit_codes(debug):
        from nntrain.commands.check import check as run_check

        run_check(config, set_, _display(quiet, verbose))


@app.command("config", epilog="\b\nExamples:\n  nntrain config configs/iris.yaml --resolved\n  nntrain config configs/iris.yaml --set optimizer.lr=0.1 > tuned.yaml\n")
def config_(
    config: Annotated[str, typer.Argument(help="YAML config file.")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key.")] = [],
    resolved: Annotated[bool, typer.Option("--resolved", help="Fill in every default.")] = False,
    debug: Debug = False,
) -> None:
    """Print a config as YAML on stdout, with overrides applied (and defaults, with --resolved)."""
    with _exit_codes(debug):
        from nntrain.commands.config import print_config

        print_config(config, set_, resolved)


@app.command(epilog="\b\nExamples:\n  nntrain schema > nntrain.schema.json\n  first line of a config:  # yaml-language-server: $schema=nntrain.schema.json\n")
def schema(debug: Debug = False) -> None:
    """Print the JSON Schema of config files on stdout, for editor completion and checking."""
    with _exit_codes(debug):
        from nntrain.config.json_schema import schema_json

        sys.stdout.write(schema_json())


@app.command(epilog="\b\nExamples:\n  nntrain runs\n  nntrain runs experiments/ --json\n")
def runs(
    folder: Annotated[str, typer.Argument(help="Folder holding run directories.")] = "runs",
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout instead of a table.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """List runs with their best metric, epochs, stop reason and duration."""
    with _exit_codes(debug):
        from nntrain.commands.runs import list_runs

        list_runs(folder, _display(quiet, verbose), as_json=json_)


class _SweepGroup(_Group):
    """`nntrain sweep FILE` runs a sweep (the `run` subcommand); `nntrain sweep status DIR` lists its trials."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(cls=_SweepGroup, no_args_is_help=True, rich_markup_mode=MARKUP,
                        help="Tune a config's hyperparameters with Optuna: `nntrain sweep SWEEP_FILE` runs a sweep "
                        f"(the run command), each trial an ordinary run {_needs('sweep')}.")
app.add_typer(sweep_app, name="sweep", epilog="\b\nExamples:\n  nntrain sweep iris.sweep.yaml\n"
              "  nntrain sweep iris.sweep.yaml --workers 2 --trials 40\n"
              "  nntrain sweep iris.sweep.yaml --storage postgresql://me@dbhost/sweeps\n"
              "  nntrain sweep status sweeps/iris\n")


@sweep_app.command("run", epilog="\b\nExamples:\n  nntrain sweep iris.sweep.yaml\n"
                   "  nntrain sweep iris.sweep.yaml --trials 10 --timeout 30m\n"
                   "  nntrain sweep iris.sweep.yaml --workers 4 --storage postgresql://me@dbhost/sweeps\n")
def sweep_run(
    sweep_file: Annotated[str, typer.Argument(metavar="SWEEP_FILE", help="Sweep file (YAML): base config, space, "
                                                                        "budget; see the README's Sweeps section.")],
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials in all, instead of the file's.")] = None,
    timeout: Annotated[Optional[str], typer.Option("--timeout", metavar="DURATION",
                                                   help="Start no trial after this long, e.g. 30m (per worker).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes on this machine.")] = 1,
    storage: Annotated[Optional[str], typer.Option("--storage", metavar="URL",
                                                   help="Optuna storage shared by every worker, e.g. "
                                                        "postgresql://user@host/db; default SWEEP_DIR/study.db.")] = None,
    study: Annotated[Optional[str], typer.Option("--study", metavar="NAME",
                                                 help="Study name; default the sweep file's name.")] = None,
    worker: Annotated[bool, typer.Option("--worker", hidden=True, help="Run as one of --workers' processes.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """Run a sweep: trials of the base config with values drawn from the space, until the budget is used.

    Several processes or machines with the same --storage share one study. Ctrl-C stops every
    trial after its batch and exits 130; the same command continues the study.
    """
    with _exit_codes(debug):
        from nntrain.commands.display import Display
        from nntrain.commands.sweep import sweep as run_sweep

        flags = [flag for flag, on in (("--quiet", quiet), ("--verbose", verbose), ("--debug", debug)) if on]
        display = Display(quiet=quiet, verbose=verbose) if worker else _display(quiet, verbose)
        run_sweep(sweep_file, display, trials=trials, timeout=timeout,
                  workers=workers, storage=storage, study=study, worker=worker, child_flags=flags)


@sweep_app.command("status", epilog="\b\nExamples:\n  nntrain sweep status sweeps/iris\n"
                   "  nntrain sweep status postgresql://me@dbhost/sweeps --study iris --json\n")
def sweep_status(
    source: Annotated[str, typer.Argument(metavar="SWEEP_DIR_OR_URL", help="A sweep directory, or a storage URL.")],
    study: Annotated[Optional[str], typer.Option("--study", metavar="NAME",
                                                 help="Study name; default the directory's, or the storage's only one.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout instead of a table.")] = False,
    quiet: Quiet = False, verbose: Verbose = False, debug: Debug = False,
) -> None:
    """List a sweep's trials, best first: state, value, parameters, epochs, duration and why each ended."""
    with _exit_codes(debug):
        from nntrain.commands.sweep import status

        status(source, _display(quiet, verbose), study, as_json=json_)


def main() -> None:
    """Console entry point."""
    app(prog_name="nntrain")


@contextmanager
def _exit_codes(debug: bool):
    """Turn everything a command can raise into a message on stderr and its exit code.

    Library warnings (pandas, NumPy) are silenced unless --debug: every problem a user can act
    on is reported by nntrain itself, in its own words.
    """
    from nntrain.errors import NNTrainError

    debug = debug or bool(os.environ.get("NNTRAIN_DEBUG"))
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.simplefilter("ignore")
            yield
    except NNTrainError as exc:
        if debug:
            traceback.print_exc()
        if str(exc):  # empty when another rank of an MPI job reports the error
            _say(f"nntrain: error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _say("\ninterrupted")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        _reader_gone()
    except OSError as exc:
        if exc.filename is None:
            _bug(exc, debug)
        if debug:
            traceback.print_exc()
        _say(f"nntrain: error: cannot use {exc.filename}: {exc.strerror or exc}")  # a path nntrain cannot use
        raise typer.Exit(2) from None
    except Exception as exc:
        _bug(exc, debug)


def _bug(exc: Exception, debug: bool):
    """An error nntrain did not foresee: say so plainly, and how to see more."""
    if debug:
        traceback.print_exc()
    else:
        _say(f"nntrain: internal error: {type(exc).__name__}: {exc}\n"
             "This is a bug in nntrain; rerun with --debug for the traceback and please report it.")
    raise typer.Exit(1) from None


def _say(message: str) -> None:
    """Write to stderr; if its reader is gone too (`2>&1 | head`), end quietly as for stdout."""
    try:
        print(message, file=sys.stderr, flush=True)
    except BrokenPipeError:
        _reader_gone()


def _reader_gone():
    """The reader of our output went away (e.g. `| head`): stop quietly with 141, as shells report a SIGPIPE.

    Both streams are pointed at /dev/null so Python's flush at exit does not complain either.
    """
    null = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(null, stream.fileno())
        except (OSError, ValueError):
            pass
    raise typer.Exit(141) from None
