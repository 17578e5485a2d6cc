"""The config: schema, loading with overrides, and the generated reference."""

from nntrain.config.loading import load_config
from nntrain.config.schema import Config

__all__ = ["Config", "load_config"]
