"""`make demo`: a real key ceremony on SoftHSM2 tokens, in a new local folder.

1. Make the tokens and keys the demo plan (ceremony/demo.toml) names, in
   demo-out/<time>/ with its own SOFTHSM2_CONF (scripts/softhsm_kit.py).
2. Run the plan as a scripted ceremony: generate a seed, split it 2 of {Board 2-of-3,
   Officers 3-of-5, Escrow 1-of-1}, seal shares to an AES token key, an EC key and an
   RSA key, print paper cards, prove, and sign the transcript on a ceremony token.
3. Check the outputs as an auditor and custodians would: `transcript verify`,
   `verify` with every packet, then recover from a quorum (the seed is not shown;
   the manifest's fingerprint proves it is the same) and catch a wrong passphrase.
4. Run a recovery drill with that quorum, show readiness, and write the report.

The seed is generated for the demo and never shown; do not use it for funds.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from vault.core.formats import manifest

sys.path.insert(0, str(Path(__file__).parent))
import softhsm_kit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path, env: dict[str, str], expect: int = 0) -> None:
    print(f"\n$ coldvault {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "vault", *args], cwd=cwd, env={**os.environ, **env})
    if done.returncode != expect:
        raise SystemExit(f"demo failed: exit {done.returncode}, expected {expect}")


def main() -> None:
    started = time.monotonic()
    work = ROOT / "demo-out" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    work.mkdir(parents=True)
    shutil.copy(ROOT / "ceremony" / "demo.toml", work / "demo.toml")
    (work / "passphrase.txt").write_text("correct horse battery staple\n")
    (work / "passphrase.txt").chmod(0o600)
    print(f"Making SoftHSM2 tokens and keys for ceremony/demo.toml in {work} ...", flush=True)
    kit = softhsm_kit.provision(work / "demo.toml", work)
    pins = kit.pin_args()

    run("ceremony", "check", "demo.toml", "--out", "vault", *pins, cwd=work, env=kit.env)  # the rehearsal: no secret, nothing written
    run("ceremony", "run", "demo.toml", "--out", "vault", "--yes", "--passphrase-file", "passphrase.txt", *pins, cwd=work, env=kit.env)
    run("transcript", "verify", "vault", cwd=work, env=kit.env)
    packets = sorted(str(p.relative_to(work)) for p in (work / "vault" / "custodians").glob("*/share*"))
    run("verify", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt", *packets, *pins, cwd=work, env=kit.env)
    quorum = ["vault/custodians/alice/share.envelope.json", "vault/custodians/carol/share.txt", "vault/custodians/ivan/share.txt"]
    run("recover", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt", *quorum, *pins, cwd=work, env=kit.env)
    (work / "wrong-passphrase.txt").write_text("correct horse battery stapler\n")
    print("\nThe same quorum with a wrong passphrase: SLIP-39 gives another secret without error;")
    print("coldvault catches it by fingerprint (exit 1):", flush=True)
    run("recover", "--manifest", "vault/manifest.json", "--passphrase-file", "wrong-passphrase.txt", *quorum, *pins,
        cwd=work, env=kit.env, expect=1)

    print("\nA recovery drill with the same quorum: checked, proven by fingerprint, recorded in vault/drills.jsonl:", flush=True)
    run("drill", "run", "--manifest", "vault/manifest.json", "--passphrase-file", "passphrase.txt",
        "--operator", "Demo Operator", "--witness", "Demo Witness", *quorum, *pins, cwd=work, env=kit.env)
    run("drill", "status", "--manifest", "vault/manifest.json", cwd=work, env=kit.env)
    run("drill", "report", "--manifest", "vault/manifest.json", "--out", "report.html", cwd=work, env=kit.env)

    print("\nA new custodian, Judy, joins the Board: two Board shares vouch, no seed is recovered, and her share", flush=True)
    print("is sealed to her own token's AES key. The manifest's next revision and the transcript go to vault-r2/:", flush=True)
    softhsm_kit.token_with_key(kit, work, "judy", "aes")
    board = ["vault/custodians/alice/share.envelope.json", "vault/custodians/carol/share.txt"]
    run("extend", "--manifest", "vault/manifest.json", "--group", "1", *board, "--custodian", "Judy",
        "--token", "judy", "--key", "coldvault", "--out", "vault-r2", *kit.pin_args(), cwd=work, env=kit.env)
    run("transcript", "verify", "vault-r2", cwd=work, env=kit.env)
    # In a real vault the key is copied from the runbook or a card (written down at the ceremony), never from the files checked.
    vault_key = manifest.from_json((work / "vault" / "manifest.json").read_text()).vault_key_sha256 or ""
    print("\nThe vault key the witnesses wrote down pins every revision: revision 2 is sealed by the Board's own key", flush=True)
    print("(a threshold of the Board rebuilt it), under the vault key's seal over the ceremony:", flush=True)
    run("drill", "status", "--manifest", "vault-r2/manifest.json", "--vault-key", vault_key, cwd=work, env=kit.env)

    print(f"\nDemo finished in {time.monotonic() - started:.1f} s. Outputs in {work}:")
    print("  vault/manifest.json        the public manifest")
    print("  vault/transcript.jsonl     the hash-chained record (transcript.sig.json: its signature)")
    print("  vault/runbook.md           the printable record with signature lines")
    print("  vault/custodians/*/        one packet per custodian (card.pdf + share.txt are SECRET, mode 0600)")
    print("  vault/drills.jsonl         the drill log; report.html: the readiness report")
    print("  vault-r2/                  revision 2 after `extend`: manifest, transcript, drill log, Judy's packet")
    print("  softhsm-tokens/, pins/     the demo's SoftHSM2 tokens and their PINs")
    print("This was a throwaway secret. Delete the folder when done: rm -rf " + shlex.quote(str(work)))


if __name__ == "__main__":
    main()
