"""`python -m stopframe` runs the command-line interface."""

from stopframe.cli import main

main()
