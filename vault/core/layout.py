"""A vault's folder: the one place that names its files (docs/history.md, "A vault's folder").

```
VAULT/manifest.json          what the vault is (public)
VAULT/transcript.jsonl       its history: the ceremony, each revision, each seal
VAULT/transcript.sig.json    the [signing] token's signature, when the plan has one
VAULT/drills.jsonl           the drill log
VAULT/successor.json         written into a revision when `extend` or `rotate` made its successor
VAULT/.coldvault.lock        held by a writer while it reads, checks and writes the vault
VAULT/custodians/NAME/       each custodian's packet (copies of the public files)
```
"""

from __future__ import annotations

MANIFEST_FILE = "manifest.json"
TRANSCRIPT_FILE = "transcript.jsonl"
SIGNATURE_FILE = "transcript.sig.json"
DRILLS_FILE = "drills.jsonl"
SUCCESSOR_FILE = "successor.json"
LOCK_FILE = ".coldvault.lock"
PACKETS_DIR = "custodians"
RUNBOOK_FILE = "runbook.md"
REPORT_FILE = "report.html"
"""Where the fleet page looks for a vault's own readiness page (`drill report --out VAULT/report.html`), to link to it."""
