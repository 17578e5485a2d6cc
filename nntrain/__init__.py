"""nntrain: train neural networks from a YAML file, on a NumPy engine.

The Python API, the one the command line stands on (see `nntrain.run.api`):

    import nntrain
    run = nntrain.fit("configs/iris.yaml", overrides={"optimizer.lr": 0.01}, run_dir="runs/x")
    run.summary                       # stop reason, best epoch, test metrics, seconds
    run.evaluate()                    # metrics on the held-out test split (or a CSV path / DataFrame)
    run.predict(frame, proba=True)    # DataFrame in, DataFrame out
    run = nntrain.load("runs/x")      # a finished or interrupted run

`fit`, `load` and `Run` are imported on first use, so `import nntrain` (and `nntrain --help`) stay fast.
"""

__version__ = "0.2.0"
__all__ = ["fit", "load", "Run", "__version__"]
_API = ("fit", "load", "Run")


def __getattr__(name):
    if name in _API:
        from nntrain.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'nntrain' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])
