"""Run the command line with ``python -m displaysets``."""

from displaysets.cli import main

raise SystemExit(main())
