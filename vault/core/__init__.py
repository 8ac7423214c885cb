"""The pure core: bytes, text and frozen dataclasses in and out; no files, prompts, printing or tokens.

Time and randomness are parameters; verification raises. Subpackages: `slip39`
(shares, over Trezor's reference implementation), `formats` (one module per file
format, and the one strict reader), `recipients` (the ways a share is sealed),
`text` (the words of packets, runbooks and the readiness report).
"""
