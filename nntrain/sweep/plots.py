"""A sweep's optimisation history and parameter importances, drawn by Optuna's matplotlib visualisations.

Importances are PED-ANOVA's (Optuna's, in NumPy alone: the default fANOVA would need scikit-learn).
"""

from pathlib import Path

from nntrain.errors import ConfigError
from nntrain.sweep import require_optuna
from nntrain.sweep.study import TrialState

optuna = require_optuna()


def plot_sweep(study, folder: Path, warn) -> list[Path]:
    """Write history.png and importances.png into `folder`; returns the files written."""
    from matplotlib import pyplot
    from optuna.visualization import matplotlib as views

    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not finished:
        raise ConfigError(f"study {study.study_name!r} has no completed trial yet, so nothing to plot")
    metric = study.user_attrs.get("metric", "Objective Value")
    drawings = {"history.png": lambda: views.plot_optimization_history(study, target_name=metric)}
    if len(finished) >= 2 and finished[0].params:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        drawings["importances.png"] = lambda: views.plot_param_importances(study, evaluator=evaluator,
                                                                          target_name=metric)
    else:
        warn("parameter importances need two completed trials or more; drew the history only")
    written = []
    for name, draw in drawings.items():
        axes = draw()
        figure = axes.figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        target = folder / name
        try:
            figure.savefig(target, dpi=100)
        except OSError as exc:
            raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
        finally:
            pyplot.close(figure)
        written.append(target)
    return written
