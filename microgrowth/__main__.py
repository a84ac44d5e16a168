"""``python -m microgrowth``: the command line (see microgrowth.cli)."""

from microgrowth.cli import main

raise SystemExit(main())
