"""SLIP-39 for coldvault: `reference` is the one module that touches Trezor's reference
implementation (`shamir_mnemonic`) and holds the specification's RS1024 checksum;
`share` parses, splits and describes shares with errors a person can act on;
`polynomial` does the Shamir arithmetic over GF(256) that recovery, verification and
extension share; `recovery` collects shares one at a time and recovers the secret."""
