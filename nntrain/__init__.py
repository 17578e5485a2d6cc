"""nntrain: train neural networks from a YAML file, on a NumPy engine."""

__version__ = "0.2.0"
