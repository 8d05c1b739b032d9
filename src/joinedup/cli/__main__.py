"""``python -m joinedup.cli`` runs the ``joinedup`` command."""

from joinedup.cli import main

main()
