"""Re-execute notebooks and write them back with their outputs: ``make notebooks``.

The notebooks are committed executed, so a repository viewer shows their tables, graphs and
figures; the test suite (pytest --nbval) runs them again and compares every output with the one
in the file. Run this after a change that alters an output, then commit the notebooks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")  # "<graphviz.graphs.Digraph at 0x7f...>": new every run


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no wall-clock times in the file
        coalesce_streams=True,  # one stream output per cell, carriage returns applied (tqdm)
    )
    client.execute()
    for cell in notebook.cells:  # a re-run that changes nothing leaves the file as it was
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain")
            if isinstance(text, str):
                output["data"]["text/plain"] = ADDRESS.sub("0x...", text)
    nbformat.write(notebook, path)


def main(paths: list[str]) -> None:
    for name in paths:
        print(f"executing {name}", flush=True)
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("notebooks").glob("*.ipynb")))
