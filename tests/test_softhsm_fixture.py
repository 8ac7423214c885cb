"""The SoftHSM2 fixture every PKCS#11 test builds on: a private token store per test.

Proves that `make test` installed SoftHSM2 and that tokens made in one test's
directory are invisible to another (their own SOFTHSM2_CONF).
"""

from __future__ import annotations

import os
import subprocess

import pytest


def softhsm_util(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        ["softhsm2-util", *args], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return completed.stdout


@pytest.mark.softhsm
def test_a_token_made_in_the_fixture_store_is_listed_there_only(softhsm, tmp_path_factory):
    softhsm_util(softhsm, "--init-token", "--free", "--label", "custodian-1", "--pin", "1234", "--so-pin", "5678")
    assert "custodian-1" in softhsm_util(softhsm, "--show-slots")

    other = tmp_path_factory.mktemp("other-store")
    (other / "tokens").mkdir()
    conf = other / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {other / 'tokens'}\nobjectstore.backend = file\n")
    assert "custodian-1" not in softhsm_util({"SOFTHSM2_CONF": str(conf)}, "--show-slots")
