"""`coldvault split`: split a secret into SLIP-39 share files and a manifest, written at once.

The scheme comes from the flags (`--scheme TofN` for one group, or `--group-threshold`
with `--group TofN`...); everything that can be refused is refused before the
passphrase and the secret are read. The backup is made and proven in memory
(`vault.core.backup`), then written through a staging directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vault.core import attestation, records
from vault.core.backup import Backup, SplitOptions, make_backup
from vault.core.scheme import Scheme, check_iteration_exponent, make_scheme, parse_t_of_n
from vault.core.secret import Secret
from vault.edges import fsio, sources, terminal
from vault.errors import InvalidInput


@dataclass(frozen=True)
class SecretFlags:
    """Where the secret to split comes from: at most one of these flags; none means a hidden prompt (or stdin)."""

    generate: int | None = None
    bip39_file: Path | None = None
    secret_file: Path | None = None

    def read(self) -> Secret:
        return sources.read_secret(self.generate, self.bip39_file, self.secret_file)


def scheme_from_flags(scheme: str | None, group_threshold: int | None, groups: Sequence[str], names: Sequence[str]) -> Scheme:
    """--scheme TofN for one group, or --group-threshold N with --group TofN (repeated) and --group-name."""
    if scheme is not None:
        if groups or group_threshold is not None:
            raise InvalidInput("give --scheme for one group, or --group-threshold with --group, not both")
        return make_scheme(1, [parse_t_of_n(scheme)], list(names))
    if not groups:
        raise InvalidInput("no scheme given", "use --scheme 2of3, or --group-threshold 2 --group 2of3 --group 3of5 ...")
    if group_threshold is None:
        if len(groups) > 1:
            raise InvalidInput("several groups need --group-threshold (how many groups are needed)")
        group_threshold = 1
    return make_scheme(group_threshold, [parse_t_of_n(g) for g in groups], list(names))


def split(
    out: Path,
    scheme: Scheme,
    options: SplitOptions,
    secret: SecretFlags,
    passphrase_file: Path | None,
    passphrase_prompt: bool,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Backup:
    """Split the secret from `secret` by `scheme` into `out`: manifest.json, shares/*.txt, and transcript.jsonl.

    The transcript (unsigned) records the manifest's SHA-256, so that every command
    that trusts this manifest later can check it has not changed (docs/transcript.md).
    """
    check_iteration_exponent(options.iteration_exponent)
    fsio.check_output_dir(out)
    for leftover in fsio.leftover_staging(out):
        terminal.info(f"warning: {leftover} is left from an interrupted run and may hold plaintext shares: inspect it, then destroy it")
    passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=True)
    now = clock()
    value = secret.read()
    backup = make_backup(value, scheme, passphrase, options, now=now)
    source = "generated" if secret.generate is not None else "imported"
    vault_key = attestation.vault_key(value, backup.manifest.ceremony.id)
    log = records.split_transcript(backup, scheme, bool(passphrase), options, source, now, vault_key)
    fsio.write_directory(out, (*backup.files, log))
    return backup
