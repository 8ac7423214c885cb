"""The flows: one module per command family, the only place where the core and the edges meet.

Each takes a command's inputs (paths, flags, `TokenOptions`) and returns what
happened, for the CLI to render.
"""
