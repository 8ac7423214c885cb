"""Writing outputs: all or nothing, never over anything, secrets 0600 in 0700 directories."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vault.core.outputs import OutputFile
from vault.edges import fsio
from vault.errors import InvalidInput, WriteRefused


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_directory_appears_complete_with_private_modes(tmp_path):
    target = tmp_path / "vault"
    fsio.write_directory(target, [OutputFile("manifest.json", "{}\n", False), OutputFile("shares/a.txt", "words\n", True)])
    assert (target / "shares" / "a.txt").read_text() == "words\n"
    assert mode(target) == 0o700
    assert mode(target / "shares") == 0o700
    assert mode(target / "shares" / "a.txt") == 0o600
    assert mode(target / "manifest.json") == 0o644
    assert fsio.leftover_staging(target) == []


def test_an_empty_existing_directory_is_filled(tmp_path):
    target = tmp_path / "vault"
    target.mkdir()
    fsio.write_directory(target, [OutputFile("a.txt", "x", True)])
    assert (target / "a.txt").read_text() == "x"


def test_a_non_empty_directory_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "vault"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(WriteRefused, match="not empty"):
        fsio.write_directory(target, [OutputFile("a.txt", "x", True)])
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault"]


def test_a_symlink_where_the_output_goes_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "vault").symlink_to(elsewhere)
    with pytest.raises(WriteRefused, match="symbolic link"):
        fsio.write_directory(tmp_path / "vault", [OutputFile("a.txt", "x", True)])
    assert list(elsewhere.iterdir()) == []


def test_a_failed_write_leaves_no_staging_directory_and_no_output(tmp_path):
    """A file that cannot be created (here: a second file at the same path) aborts everything."""
    target = tmp_path / "vault"
    with pytest.raises(WriteRefused, match="refusing to overwrite"):
        fsio.write_directory(target, [OutputFile("shares/a.txt", "secret", True), OutputFile("shares/a.txt", "again", True)])
    assert list(tmp_path.iterdir()) == []


def test_write_new_file_never_replaces_anything(tmp_path):
    target = tmp_path / "secret.txt"
    fsio.write_new_file(target, b"one\n")
    assert mode(target) == 0o600
    with pytest.raises(WriteRefused, match="exists"):
        fsio.write_new_file(target, b"two\n")
    assert target.read_bytes() == b"one\n"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(WriteRefused, match="exists"):
        fsio.write_new_file(dangling, b"x")
    assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "secret.txt"]


def test_read_text_names_the_file_in_every_failure(tmp_path):
    with pytest.raises(InvalidInput, match="missing.txt: no such file"):
        fsio.read_text(tmp_path / "missing.txt")
    with pytest.raises(InvalidInput, match="is a directory"):
        fsio.read_text(tmp_path)
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (fsio.MAX_INPUT_FILE_BYTES + 1))
    with pytest.raises(InvalidInput, match="big.txt: larger than"):
        fsio.read_text(big)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"abc\xff")
    with pytest.raises(InvalidInput, match=r"binary.txt: not UTF-8 text \(byte 4\)"):
        fsio.read_text(binary)


def test_a_trailing_newline_is_not_part_of_a_passphrase_file(tmp_path):
    for text, expected in (("pass\n", "pass"), ("pass\r\n", "pass"), ("pass", "pass"), ("pass\n\n", "pass\n"), (" pass ", " pass ")):
        path = tmp_path / "p.txt"
        path.write_text(text, newline="")
        assert fsio.read_line_file(path) == expected


def test_a_byte_order_mark_is_not_content(tmp_path):
    """Some Windows editors start UTF-8 files with a BOM; it must not become word 1."""
    path = tmp_path / "share.txt"
    path.write_bytes(b"\xef\xbb\xbf# comment\nwords here\n")
    assert fsio.read_text(path) == "# comment\nwords here\n"
