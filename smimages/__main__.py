"""python -m smimages: the command line."""

from .cli import main

main()
