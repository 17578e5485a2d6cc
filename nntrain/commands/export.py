"""`nntrain export`: write a run's model, with its fitted preparation, as one ONNX file for onnxruntime."""

from nntrain.commands.display import Display
from nntrain.export import export_run


def export(run: str, output: str, display: Display) -> None:
    model, notes = export_run(run, output)
    for note in notes:
        display.note(f"export: {note}")
    inputs = [value.name for value in model.graph.input]
    shown = ", ".join(inputs[:8]) + (f" and {len(inputs) - 8} more" if len(inputs) > 8 else "")
    display.note(f"wrote {output}: inputs {shown}; outputs {', '.join(v.name for v in model.graph.output)}")
