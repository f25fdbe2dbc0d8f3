#!/bin/sh
# With no arguments: migrate the registry, then serve on port 8000.
# With arguments: run that quarantine command (e.g. `verify FILE`).
set -e
if [ "$#" -eq 0 ]; then
  quarantine db upgrade
  exec quarantine serve --host 0.0.0.0 --port 8000
fi
exec quarantine "$@"
