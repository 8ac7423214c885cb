"""coldvault: key ceremonies for cold-storage wallet seeds.

Layout (see docs/architecture.md):

- the pure core, no I/O and no prompts: `secret`, `scheme`, `wordlists`, `slip39`,
  `recovery`, `bip32`, `fingerprint`, `manifest`, `sharefile`;
- thin edges: `fsio` (files and directories), `terminal` (prompts);
- the typer app in `vault.cli`, which parses, calls the core and renders.
"""

__version__ = "0.1.0"
