"""`make demo`: a demo of coldvault on throwaway data, in a fresh temporary folder.

Split a freshly generated seed into a two-level SLIP-39 scheme; make a SoftHSM2
token for one custodian (in the demo folder, with its own SOFTHSM2_CONF) and seal
her share to it; inspect a share; prove with `verify` that every qualifying subset
recovers the seed; recover from a quorum that includes the sealed share; and show a
wrong passphrase being caught. The ceremony issue grows this into a full ceremony.
The secret is generated for the demo and never shown; do not use it for funds.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def run(*args: str, cwd: Path) -> None:
    print(f"\n$ coldvault {shlex.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "vault", *args], cwd=cwd, check=True)


def make_token(work: Path, label: str, pin: str) -> None:
    """A SoftHSM2 token in the demo folder: its own token directory and SOFTHSM2_CONF."""
    tokens = work / "softhsm-tokens"
    tokens.mkdir(exist_ok=True)
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    if shutil.which("softhsm2-util") is None:
        raise SystemExit("demo needs SoftHSM2: run `make demo`, which installs it")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin + pin],
                   check=True, stdout=subprocess.DEVNULL)
    (work / f"{label}.pin").write_text(pin + "\n")
    (work / f"{label}.pin").chmod(0o600)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="coldvault-demo-"))
    (work / "passphrase.txt").write_text("correct horse battery staple\n")
    (work / "passphrase.txt").chmod(0o600)
    run(
        "split", "--generate", "256",
        "--group-threshold", "2",
        "--group", "2of3", "--group-name", "Board",
        "--group", "3of5", "--group-name", "Officers",
        "--group", "1of1", "--group-name", "Escrow",
        "--passphrase-file", "passphrase.txt",
        "--name", "coldvault demo",
        "--out", "vault",
        cwd=work,
    )
    make_token(work, "alice", "123456")
    pin = ("--pin-file", "alice=alice.pin")
    run("token", "keygen", "--token", "alice", "--label", "coldvault", "--type", "ec", *pin, cwd=work)
    run("token", "pubkey", "--token", "alice", "--label", "coldvault", "--out", "alice.pem", *pin, cwd=work)
    run("wrap", "vault/shares/group1-share1.txt", "--recipient-pubkey", "alice.pem", "--token", "alice",
        "--manifest", "vault/manifest.json", "--custodian", "Alice", "--out", "alice.envelope.json", *pin, cwd=work)
    run("inspect", "vault/shares/group2-share4.txt", cwd=work)
    run("verify", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt",
        "alice.envelope.json", *[f"vault/shares/{p.name}" for p in sorted((work / "vault/shares").iterdir())][1:],
        *pin, cwd=work)
    run(
        "recover", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt",
        "vault/shares/group1-share3.txt", "alice.envelope.json", "vault/shares/group3-share1.txt", *pin,
        cwd=work,
    )
    (work / "wrong-passphrase.txt").write_text("correct horse battery stapler\n")
    print("\nThe same shares with a wrong passphrase: SLIP-39 gives another secret without error;")
    print("coldvault catches it by fingerprint (exit 1):", flush=True)
    try:
        run(
            "recover", "--manifest", "vault/manifest.json", "--passphrase-file", "wrong-passphrase.txt",
            "vault/shares/group1-share3.txt", "vault/shares/group1-share1.txt", "vault/shares/group3-share1.txt",
            cwd=work,
        )
    except subprocess.CalledProcessError as caught:
        if caught.returncode != 1:
            raise
    else:
        raise SystemExit("demo failed: a wrong passphrase was not caught")
    print(f"\nDemo outputs are in {work}: vault/manifest.json (public), vault/shares/ (secret, mode 0600),")
    print("alice.envelope.json (share 1 sealed to Alice's SoftHSM2 token in softhsm-tokens/).")
    print("This was a throwaway secret. Delete the folder when done: rm -rf " + shlex.quote(str(work)))


if __name__ == "__main__":
    main()
