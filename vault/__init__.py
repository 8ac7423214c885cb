"""coldvault: key ceremonies for cold-storage wallet seeds.

Four layers, one package each (docs/architecture.md; tests/test_layers.py enforces
what each may import):

- `vault.core`: pure: shares, secrets, schemes, proofs, formats, recipient kinds,
  readiness, and the words people read; no I/O;
- `vault.edges`: files, the terminal, PKCS#11 tokens, the card's PDF, the process;
- `vault.flows`: one module per command family, where the core and the edges meet;
- `vault.cli`: the typer app, which parses, calls one flow, and renders.
"""

__version__ = "0.1.0"
