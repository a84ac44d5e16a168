"""Re-execute notebooks and write them back with their outputs: ``make notebooks``.

The notebooks are committed executed, so a repository viewer shows their tables, graphs and
figures; the test suite (pytest --nbval) runs them again and compares every output with the one
in the file. Run this after a change that alters an output, then commit the notebooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


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
    nbformat.write(notebook, path)


def main(paths: list[str]) -> None:
    for name in paths:
        print(f"executing {name}", flush=True)
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("notebooks").glob("*.ipynb")))
