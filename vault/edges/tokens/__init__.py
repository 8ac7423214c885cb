"""The PKCS#11 edge, split by concern; python-pkcs11 is imported only when a token is used.

- `discovery`: modules (`--module`, $COLDVAULT_PKCS11_MODULE, SoftHSM2) and the tokens in their slots;
- `sessions`: logging in, with the PIN from a source the caller passes in;
- `keys`: finding, making and exporting keys, and the mechanisms used with them;
- `errors`: PKCS#11 failures as `TokenError`s a person can act on;
- `opener`: one command's sessions and keys, and opening envelopes with them.
"""
