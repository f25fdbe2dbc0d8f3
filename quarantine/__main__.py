"""``python -m quarantine`` runs the CLI."""

from quarantine.cli import main

main()
