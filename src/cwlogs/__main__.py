"""``python -m cwlogs``: the same command line as the ``cwlogs`` script."""

from cwlogs.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
