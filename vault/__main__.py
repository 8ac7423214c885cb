"""`python -m vault` runs the same CLI as the `coldvault` console script."""

from vault.cli import main

main()
