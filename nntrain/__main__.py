"""`python -m nntrain` runs the command-line tool."""

from nntrain.cli import main

main()
