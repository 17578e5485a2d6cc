"""What a run is: plan and lock its directory, build everything a config implies, train, record, restore.

The public API in `nntrain/__init__.py` (fit, load, Run), the commands and the
integrations all stand on this package.
"""
