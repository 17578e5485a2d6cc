"""The description of each config key: the docstring under its field in the schema's source, read when asked.

pydantic can attach these itself (`use_attribute_docstrings`), but it does so as each model is built, reading
and parsing the source class by class: a third of the time building the schema takes, paid by every command
that reads a config. Only the README reference and the JSON Schema show descriptions, so they read them here.
"""

import ast
import inspect
import sys
from functools import cache

from pydantic import BaseModel


def descriptions(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> description, for the fields of `model` that have one: the docstring under the field in the
    class that declares it last (a field a subclass declares again is described there, or not at all), as
    pydantic's `use_attribute_docstrings` reads them."""
    found = {}
    for name, field in model.model_fields.items():
        owner = next(cls for cls in model.__mro__ if name in cls.__dict__.get("__annotations__", {}))
        text = field.description or _attribute_docstrings(owner).get(name)
        if text is not None:
            found[name] = text
    return found


@cache
def _attribute_docstrings(cls: type) -> dict[str, str]:
    """The string written right after each annotated name in the body of class `cls`."""
    [node] = [node for node in _module_tree(cls.__module__).body
              if isinstance(node, ast.ClassDef) and node.name == cls.__qualname__]
    return {field.target.id: inspect.cleandoc(doc.value.value) for field, doc in zip(node.body, node.body[1:])
            if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
            and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)}


@cache
def _module_tree(module: str) -> ast.Module:
    return ast.parse(inspect.getsource(sys.modules[module]))
