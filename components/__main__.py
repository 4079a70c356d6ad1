"""`python -m components COMMAND`: the commands that run without the Pulumi engine (commands/cli.py)."""

import sys

from components.commands.cli import main

if __name__ == "__main__":
    sys.exit(main())
