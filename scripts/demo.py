"""`make demo`: a demo of coldvault on throwaway data, in a fresh temporary folder.

For now: split a freshly generated seed into a two-level SLIP-39 scheme, inspect a
share, and recover from a quorum, checking the result against the manifest. The
ceremony issue grows this into a full ceremony on SoftHSM2 tokens.
The secret is generated for the demo and never shown; do not use it for funds.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path


def run(*args: str, cwd: Path) -> None:
    print(f"\n$ coldvault {shlex.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "vault", *args], cwd=cwd, check=True)


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
    run("inspect", "vault/shares/group2-share4.txt", cwd=work)
    run(
        "recover", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt",
        "vault/shares/group1-share3.txt", "vault/shares/group1-share1.txt", "vault/shares/group3-share1.txt",
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
    print(f"\nDemo outputs are in {work}: vault/manifest.json (public) and vault/shares/ (secret, mode 0600).")
    print("This was a throwaway secret. Delete the folder when done: rm -rf " + shlex.quote(str(work)))


if __name__ == "__main__":
    main()
