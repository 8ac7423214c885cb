"""Make the SoftHSM2 tokens and keys a ceremony plan names, in a folder of its own.

Used by `make demo` (scripts/demo.py) and by the ceremony tests, so that every
example plan runs against real tokens. Each token gets its own PIN file (0600);
each public-key custodian gets a key pair on a token (the one the plan names, or
one named after the custodian's folder when the plan names none, standing for the
token the custodian keeps at home) and the plan's public key file is exported from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vault.core.formats import plan as plans
from vault.core.recipients import ecdh_p256, pkcs11_aes_gcm, rsa_oaep

KEY_TYPES = {pkcs11_aes_gcm.NAME: "aes", ecdh_p256.NAME: "ec", rsa_oaep.NAME: "rsa"}
PUBLIC_KEY_LABEL = "coldvault"
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class Kit:
    env: dict[str, str]
    """SOFTHSM2_CONF and COLDVAULT_PKCS11_MODULE for the coldvault subprocesses."""
    pins: dict[str, Path]
    """Token label -> PIN file."""
    home_tokens: dict[str, str]
    """Custodian name -> the token that opens their envelope but is not named in the plan."""

    def pin_args(self, labels: list[str] | None = None) -> list[str]:
        chosen = self.pins if labels is None else {label: self.pins[label] for label in labels}
        return [arg for label, path in chosen.items() for arg in ("--pin-file", f"{label}={path}")]


def softhsm_module() -> Path | None:
    return next((Path(p) for p in SOFTHSM_MODULES if Path(p).exists()), None)


def token_store(work: Path) -> dict[str, str]:
    """A token directory and SOFTHSM2_CONF under `work`; returns the environment to use them."""
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        raise SystemExit("SoftHSM2 is not installed (Debian package softhsm2; `make demo` installs it)")
    tokens = work / "softhsm-tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return {"SOFTHSM2_CONF": str(conf), "COLDVAULT_PKCS11_MODULE": str(module)}


def provision(plan_path: Path, work: Path) -> Kit:
    """Create every token and key `plan_path` needs; write its public key files beside it."""
    plan = plans.parse(plan_path.read_text(encoding="utf-8"), str(plan_path))
    env = token_store(work)
    kit = Kit(env, {}, {})
    for _, _, custodian in plan.custodians():
        delivery = custodian.delivery
        if not delivery.sealed:
            continue
        label = delivery.token or custodian.folder
        if delivery.token is None:
            kit.home_tokens[custodian.name] = label
        key_label = delivery.key or PUBLIC_KEY_LABEL
        token_with_key(kit, work, label, KEY_TYPES[delivery.kind], key_label)
        if delivery.public_key:
            target = plan_path.parent / delivery.public_key
            target.parent.mkdir(parents=True, exist_ok=True)
            _coldvault(kit, "token", "pubkey", "--token", label, "--label", key_label, "--out", str(target), *kit.pin_args([label]))
    if plan.signing:
        token_with_key(kit, work, plan.signing.token, "ec", plan.signing.key)
    return kit


def token_with_key(kit: Kit, work: Path, label: str, key_type: str, key_label: str = PUBLIC_KEY_LABEL) -> None:
    """A token (made once) with one more key on it: `key_type` is aes, ec or rsa."""
    _token(kit, work, label)
    _coldvault(kit, "token", "keygen", "--token", label, "--label", key_label, "--type", key_type, *kit.pin_args([label]))


def _token(kit: Kit, work: Path, label: str) -> None:
    if label in kit.pins:
        return
    pin = f"pin-{label}-0000"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin + "-so"],
        env={**os.environ, **kit.env}, check=True, stdout=subprocess.DEVNULL,
    )
    pins = work / "pins"
    pins.mkdir(mode=0o700, exist_ok=True)
    path = pins / f"{label}.pin"
    path.write_text(pin + "\n")
    path.chmod(0o600)
    kit.pins[label] = path


def _coldvault(kit: Kit, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "vault", *args], env={**os.environ, **kit.env}, check=True, stdout=subprocess.DEVNULL)
