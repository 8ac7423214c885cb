"""Interoperability with an implementation we did not write and that does not share our
dependency: ilap/slip39-js (npm `slip39`, pinned with its integrity hash in
tests/interop/package-lock.json). Shares coldvault writes recover there, and shares
made there recover with `coldvault recover`, through the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

INTEROP = Path(__file__).parent / "interop"
SECRET_HEX = "8f1c2b0d9e7a6453210fedcba9876543" "00112233445566778899aabbccddeeff"


def slip39js(request: dict) -> dict:
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "slip39").is_dir():
        message = "slip39-js is not installed (`make test` installs it with npm ci in tests/interop)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    completed = subprocess.run(
        [node, str(INTEROP / "slip39js.js")], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


def share_words(path: Path) -> str:
    return " ".join(line for line in path.read_text().splitlines() if not line.startswith("#"))


SCHEMES = [
    pytest.param(["--scheme", "2of3"], [(0, 0), (0, 2)], id="one-group-2of3"),
    pytest.param(
        ["--group-threshold", "2", "--group", "2of3", "--group", "3of5", "--group", "1of1"],
        [(2, 0), (1, 4), (1, 1), (1, 3)],
        id="two-level",
    ),
]


@pytest.mark.parametrize("scheme_args, quorum", SCHEMES)
@pytest.mark.parametrize("extendable", ["--extendable", "--no-extendable"])
def test_coldvault_shares_recover_in_slip39js(cli, tmp_path, scheme_args, quorum, extendable):
    (tmp_path / "secret.txt").write_text(SECRET_HEX + "\n")
    (tmp_path / "pass.txt").write_text("TREZOR\n")
    split = cli(
        "split", "--secret-file", "secret.txt", "--passphrase-file", "pass.txt", *scheme_args,
        extendable, "--iteration-exponent", "0", "--out", "vault",
    )
    assert split.returncode == 0, split.stderr
    mnemonics = [share_words(tmp_path / f"vault/shares/group{g + 1}-share{m + 1}.txt") for g, m in quorum]
    answer = slip39js({"action": "combine", "mnemonics": mnemonics, "passphrase": "TREZOR"})
    assert answer["secret"] == SECRET_HEX


@pytest.mark.parametrize("extendable", [True, False])
def test_slip39js_shares_recover_with_coldvault(cli, tmp_path, extendable):
    made = slip39js({
        "action": "split", "secret": SECRET_HEX, "passphrase": "TREZOR", "group_threshold": 2,
        "groups": [[2, 3], [3, 5], [1, 1]], "iteration_exponent": 1, "extendable": extendable,
    })
    chosen = [made["groups"][1][4], made["groups"][0][2], made["groups"][1][0], made["groups"][0][0], made["groups"][1][2]]
    files = []
    for number, mnemonic in enumerate(chosen, start=1):
        path = tmp_path / f"js-{number}.txt"
        path.write_text(mnemonic + "\n")
        files.append(path.name)
    (tmp_path / "pass.txt").write_text("TREZOR")
    recovered = cli("recover", *files, "--passphrase-file", "pass.txt", "--format", "hex", "--reveal", "--json")
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.json()["secret"] == SECRET_HEX
