"""Recipient kinds: the ways a share can be sealed to a custodian (docs/envelope.md).

`base` is the interface every kind implements, `registry` the list of kinds; one module per
kind: `pkcs11_aes_gcm`, `ecdh_p256`, `rsa_oaep`.
"""
