"""``python -m glassline`` runs the command line."""

from glassline.cli import main

main()
