"""docs/tokens.md's commands for making a token and a key, run exactly as the page writes them.

The page marks each block a reader is to copy with `<!-- tested: NAME -->`; here each such
block runs in bash (`set -eu`) in a new folder, with `coldvault` meaning this checkout's
`python -m vault`, and the token it makes must then be listed by coldvault with its keys.
SoftHSM2 runs as the page says; the TPM block runs against the test's own swtpm (the `tpm`
fixture): its TCTI comes from the environment, the module path is this machine's, and each
TPM tool is followed by a flush of what it left loaded, as the kernel's resource manager
does on a real machine (scripts/tpm_kit.py says why).
"""

from __future__ import annotations

import json
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from tpm_kit import Tpm

DOC = Path(__file__).resolve().parent.parent / "docs" / "tokens.md"
TESTED_BLOCK = re.compile(r"<!-- tested: (?P<name>[\w-]+) -->\n```sh\n(?P<body>.*?)\n```", re.DOTALL)
DOC_TPM_MODULE = "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1"
COLDVAULT = f"coldvault() {{ {shlex.quote(sys.executable)} -m vault \"$@\"; }}\n"
# What a resource manager does when a process closes the TPM (this rig has none).
FLUSHING = """flushed() { status=0; "$@" || status=$?; tpm2_flushcontext -t; tpm2_flushcontext -l; return $status; }
tpm2_ptool() { flushed command tpm2_ptool "$@"; }
pkcs11-tool() { flushed command pkcs11-tool "$@"; }
""" + COLDVAULT.replace("{ ", "{ flushed ", 1)


def doc_blocks() -> dict[str, str]:
    return {match["name"]: match["body"] for match in TESTED_BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


def bash(script: str) -> list[str]:
    return ["bash", "-c", "set -eu\n" + script]


def keys_listed(listing: dict, token: str) -> set[tuple[str, str, str]]:
    (found,) = [t for t in listing["tokens"] if t["label"] == token]
    return {(k["object_class"], k["key_type"], k["label"]) for k in found["keys"]}


def assert_private_file(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)


def test_the_page_marks_a_softhsm2_and_a_tpm_block_for_testing():
    assert set(doc_blocks()) == {"softhsm2", "tpm2-pkcs11"}


def test_the_softhsm2_commands_make_a_token_with_its_keys(softhsm, tmp_path, monkeypatch):
    monkeypatch.delenv("COLDVAULT_PKCS11_MODULE", raising=False)  # the page relies on finding SoftHSM2
    monkeypatch.delenv("SOFTHSM2_CONF", raising=False)
    work = tmp_path / "doc"
    work.mkdir()

    done = subprocess.run(bash(COLDVAULT + doc_blocks()["softhsm2"]), cwd=work, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert 'token "alice-token"' in done.stdout  # the block's own `coldvault token list`
    listing = run_cli(work, "token", "list", "--pin-file", "alice-token=alice-token.pin", "--json",
                      env={"SOFTHSM2_CONF": str(work / "softhsm2.conf")})
    assert listing.returncode == 0, listing.stderr
    assert keys_listed(listing.json(), "alice-token") == {
        ("private", "ec", "alice-ec"), ("public", "ec", "alice-ec"), ("secret", "aes", "alice-aes")}
    public = load_pem_public_key((work / "alice-ec.pem").read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert_private_file(work / "alice-token.pin")


@pytest.mark.tpm
def test_the_tpm_commands_make_a_token_with_an_rsa_key(tpm: Tpm, tmp_path):
    work = tmp_path / "doc"
    work.mkdir()
    block = doc_blocks()["tpm2-pkcs11"]
    assert DOC_TPM_MODULE in block
    block = block.replace(DOC_TPM_MODULE, str(tpm.module))  # the page names Debian's amd64 path

    done = tpm.run(bash(FLUSHING + block), cwd=work, check=False)

    assert done.returncode == 0, done.stderr
    assert 'token "bob-tpm"' in done.stdout
    listing = tpm.run(["env", f"TPM2_PKCS11_STORE={work / 'tpm2-store'}", sys.executable, "-m", "vault", "token", "list",
                       "--module", tpm.module, "--pin-file", "bob-tpm=bob-tpm.pin", "--json"], cwd=work, check=False)
    assert listing.returncode == 0, listing.stderr
    assert keys_listed(json.loads(listing.stdout), "bob-tpm") == {("private", "rsa", "bob-rsa"), ("public", "rsa", "bob-rsa")}
    public = load_pem_public_key((work / "bob-rsa.pem").read_bytes())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072
    assert_private_file(work / "bob-tpm.pin")
