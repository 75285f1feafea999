"""`python -m doudi` runs the CLI."""

from doudi.cli import main

main()
