"""The transcript: docs/transcript.md in code, and `coldvault transcript verify` as users run it.

The core is tested in-process (round trips, the documented example, every MUST-reject
rule, random single-byte changes); tampering with a ceremony directory goes through
the real CLI in a subprocess, which must exit 1 naming the file and the bad line.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault.core.formats import transcript as tr
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature
from vault.core import anchor as anchors
from vault.errors import CheckFailed, InvalidInput

DOC = (Path(__file__).parent.parent / "docs" / "transcript.md").read_text()
T0 = datetime(2026, 11, 21, 17, 50, 0, tzinfo=timezone.utc)
CEREMONY_ID = "00000000-0000-4000-8000-000000000000"
MANIFEST = b'{\n  "format": "coldvault-manifest/1"\n}\n'


def software_key(seed: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key from a seed string: stands in for a token's key."""
    return ec.derive_private_key(int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big"), ec.SECP256R1())


def der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def signer_of(key: ec.EllipticCurvePrivateKey, token_label: str | None = "witness-card") -> transcript_signature.Signer:
    return transcript_signature.Signer(hashlib.sha256(der(key)).hexdigest(), token_label, "coldvault-transcript")


def sign(key: ec.EllipticCurvePrivateKey, event: tr.Event, deterministic: bool = False) -> transcript_signature.Signature:
    """What a token does (raw ECDSA on the digest, r || s out), done in software."""
    algorithm = ec.ECDSA(utils.Prehashed(hashes.SHA256()), deterministic_signing=deterministic)
    r, s = utils.decode_dss_signature(key.sign(transcript_signature.signature_digest(event.hash), algorithm))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return transcript_signature.signature_for(event, der(key), raw, "witness-card", "coldvault-transcript")


def ceremony(signer: transcript_signature.Signer | None = None) -> tr.Chain:
    """Five events like a ceremony's; the last records the manifest."""
    chain = tr.append(tr.start(), "ceremony-started",
                      {"ceremony_id": CEREMONY_ID, "signing": transcript_signature.signing_data(signer) if signer else None,
                       "witnesses": ["Alice", "Zo\u00eb"]}, T0)
    chain = tr.append(chain, "secret-generated",
                      {"kind": "master-secret", "bits": 256, "secret_fingerprint": "1d28f1e37d9f3d0842eb0398d42562ac"},
                      T0 + timedelta(minutes=1))
    chain = tr.append(chain, "shares-split",
                      {"group_threshold": 1, "passphrase_protected": False,
                       "groups": [{"name": "Board", "member_threshold": 2, "member_count": 3}]},
                      T0 + timedelta(minutes=2))
    chain = tr.append(chain, "cards-printed", {"count": 3, "custodians": ["Alice", "Bob", None]}, T0 + timedelta(minutes=3))
    return tr.append(chain, "ceremony-finished", {"manifest_sha256": hashlib.sha256(MANIFEST).hexdigest()},
                     T0 + timedelta(minutes=4))


# ---------------------------------------------------------------- the core, in-process


def test_round_trip():
    chain = ceremony()
    text = tr.to_text(chain)
    assert transcript_reader.parse(text) == chain.events
    assert text.count("\n") == 5 and text.endswith("\n") and text.isascii()
    assert tr.head(chain) == chain.events[-1].hash == transcript_reader.parse(text)[-1].hash
    assert chain.events[0].prev == tr.GENESIS == tr.head(tr.start())
    assert all(later.prev == earlier.hash for earlier, later in zip(chain.events, chain.events[1:]))
    assert [e.seq for e in chain.events] == [0, 1, 2, 3, 4]


def test_append_is_a_new_value_and_copies_data():
    data = {"nested": {"b": 1, "a": [True, None, "x"]}}
    before = tr.start()
    after = tr.append(before, "note-added", data, datetime(2026, 1, 2, 4, 5, 6, 999, tzinfo=timezone(timedelta(hours=1))))
    data["nested"]["b"] = 2
    assert before.events == ()
    assert after.events[0].data == {"nested": {"b": 1, "a": [True, None, "x"]}}
    assert after.events[0].time == "2026-01-02T03:05:06Z"
    assert tr.to_line(after.events[0]).startswith('{"seq":0,"time":"2026-01-02T03:05:06Z","event":"note-added","data":{"nested":{"a":')


@pytest.mark.parametrize(
    ("event", "data", "now"),
    [
        ("Ceremony", {}, T0),
        ("ceremony_started", {}, T0),
        ("-started", {}, T0),
        ("x" * 65, {}, T0),
        ("ok", {"amount": 1.5}, T0),
        ("ok", {"big": 1 << 53}, T0),
        ("ok", {"tuple": (1, 2)}, T0),
        ("ok", {1: "int key"}, T0),
        ("ok", [], T0),
        ("ok", {}, datetime(2026, 1, 1)),
    ],
)
def test_append_refuses_what_a_reader_would(event, data, now):
    with pytest.raises(ValueError):
        tr.append(tr.start(), event, data, now)


def _line(document: dict) -> str:
    """A line as a careless writer would make it: a correct hash over whatever it holds."""
    unhashed = {k: v for k, v in document.items() if k != "hash"}
    return tr.canonical_line({**unhashed, "hash": tr.line_hash(unhashed)}) + "\n"


FIRST = {"seq": 0, "time": "2026-11-21T17:50:00Z", "event": "ceremony-started", "data": {}, "prev": tr.GENESIS}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "transcript.jsonl: the file is empty"),
        ("\n", "line 1: is empty"),
        (_line(FIRST) + "\n", "line 2: is empty"),
        (_line(FIRST)[:-1], "line 1: has no line ending"),
        ("\ufeff" + _line(FIRST), "line 1: has a non-ASCII byte at column 1"),
        (_line({**FIRST, "data": {"name": "Zo\u00eb"}}).replace("\\u00eb", "\u00eb"), "line 1: has a non-ASCII byte at column"),
        ("[1]\n", "line 1: not a transcript line: not a JSON object"),
        ("{\n", "line 1: not a transcript line: not JSON"),
        (_line(FIRST).replace('"seq":0,', '"seq":0,"seq":0,'), 'line 1: the key "seq" appears twice'),
        (_line({**FIRST, "data": {"a": 1}}).replace('{"a":1}', '{"a":1,"a":1}'), 'the key "a" appears twice'),
        (_line({k: v for k, v in FIRST.items() if k != "time"}), "line 1: time is missing"),
        (_line({**FIRST, "extra": 1}), 'line 1: extra is not a field of coldvault-transcript/1'),
        (_line(dict(reversed(list(FIRST.items())))), "line 1: members are not in the order seq, time, event, data, prev, hash"),
        (_line({**FIRST, "seq": "0"}), "line 1: seq should be a whole number"),
        (_line({**FIRST, "seq": True}), "line 1: seq should be a whole number"),
        (_line({**FIRST, "time": "2026-11-21 17:50:00Z"}), "line 1: time should be UTC to the second"),
        (_line({**FIRST, "time": "2026-02-30T17:50:00Z"}), "line 1: time should be UTC to the second"),
        (_line({**FIRST, "time": "2026-11-21T17:50:00+00:00"}), "line 1: time should be UTC"),
        (_line({**FIRST, "event": "Ceremony-Started"}), "line 1: event should be a lower-case name"),
        (_line({**FIRST, "data": []}), "line 1: data should be an object"),
        (_line({**FIRST, "data": {"x": 1.0}}), "line 1: data.x is not a whole number"),
        (_line({**FIRST, "data": {"x": 1}}).replace(":1}", ":1e0}"), "line 1: data.x is not a whole number"),
        (_line({**FIRST, "data": {"x": [0]}}).replace("[0]", "[NaN]"), "line 1: data.x[0] is not a whole number"),
        (_line({**FIRST, "data": {"x": [0]}}).replace("[0]", "[-Infinity]"), "line 1: data.x[0] is not a whole number"),
        (_line({**FIRST, "data": {"x": 1 << 53}}), "line 1: data.x is outside"),
        (_line(FIRST).replace('"data":{}', '"data":{"x":' + "9" * 5000 + "}"), "line 1: not a transcript line: holds a number too long"),
        (_line({**FIRST, "data": {"x": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}), "nested more than 16 levels deep"),
        (_line({**FIRST, "prev": tr.GENESIS.upper().replace("0", "A")}), "line 1: prev should be 64 lower-case hex digits"),
        (_line(FIRST).replace('"hash":"', '"hash":"A'), "line 1: hash should be 64 lower-case hex digits"),
        (_line(FIRST).replace('"seq":0,', '"seq": 0,'), "line 1: is not in canonical form"),
        (_line(FIRST).replace("\n", "\r\n"), "line 1: is not in canonical form"),
        (_line({**FIRST, "data": {"b": 1, "a": 2}}).replace('{"a":2,"b":1}', '{"b":1,"a":2}'), "line 1: is not in canonical form"),
        (_line({**FIRST, "data": {"s": "/"}}).replace('"/"', '"\\/"'), "line 1: is not in canonical form"),
        (_line({**FIRST, "data": {"s": "\u00e9"}}).replace("\\u00e9", "\\u00E9"), "line 1: is not in canonical form"),
        (_line(FIRST).replace("ceremony-started", "ceremony-stopped"), "line 1: hash does not match its content"),
        (_line({**FIRST, "prev": "1" * 64}), "line 1: prev is not 64 zeros"),
        (_line({**FIRST, "seq": 1}), "line 1: seq is 1, expected 0"),
    ],
)
def test_readers_reject(text, message):
    with pytest.raises(CheckFailed) as failure:
        transcript_reader.parse(text)
    assert message in failure.value.message
    assert failure.value.exit_code == 1


def _value_levels_below_data(levels: int, innermost: object = 1) -> dict:
    """`data` whose deepest value is `levels` levels below it: {"x": [[...[innermost]...]]} (x is 1 level below)."""
    value = innermost
    for _ in range(levels - 1):
        value = [value]
    return {"x": value}


@pytest.mark.parametrize(("data", "accepted"), [
    (_value_levels_below_data(tr.MAX_DEPTH), True),  # a whole number 16 levels below data
    (_value_levels_below_data(tr.MAX_DEPTH, []), True),  # an empty list 16 levels below data
    (_value_levels_below_data(tr.MAX_DEPTH, {}), True),
    (_value_levels_below_data(tr.MAX_DEPTH + 1), False),  # the item of a list 16 levels below data: 17 levels
    (_value_levels_below_data(tr.MAX_DEPTH + 1, "x"), False),
    (_value_levels_below_data(tr.MAX_DEPTH + 1, None), False),
])
def test_values_sixteen_levels_below_data_are_read_and_seventeen_refused_by_both_readers(data, accepted):
    """docs/transcript.md's count, at its boundary, for the fast reader (`_checked_line`), the strict one
    (`_parse_line`), `parse` (which takes one, then the other) and the writer."""
    assert tr.MAX_DEPTH == 16
    line = _line({**FIRST, "data": data})[:-1]
    fast = transcript_reader._checked_line(line.encode("ascii"), 1, tr.GENESIS)
    if accepted:
        strict = transcript_reader._parse_line(line, 1, tr.GENESIS, "transcript.jsonl")
        assert fast is not None and fast == strict and strict.data == data  # the fast reader accepts it itself
        assert transcript_reader.parse(line + "\n") == (strict,)
        assert tr.append(tr.start(), "ceremony-started", data, T0).events[0].data == data
        return
    assert fast is None
    deepest = "data.x" + "[0]" * tr.MAX_DEPTH
    with pytest.raises(CheckFailed, match=re.escape(f"line 1: {deepest} is nested more than 16 levels deep")):
        transcript_reader._parse_line(line, 1, tr.GENESIS, "transcript.jsonl")
    with pytest.raises(CheckFailed, match=re.escape(f"line 1: {deepest} is nested more than 16 levels deep")):
        transcript_reader.parse(line + "\n")
    with pytest.raises(ValueError, match="nested more than 16 levels deep"):
        tr.append(tr.start(), "ceremony-started", data, T0)


def _pieces(data: bytes) -> list[bytes]:
    """The file as the edge reads it (vault.edges.fsio.read_lines): at most a line's limit and its line feed at a time."""
    stream = io.BytesIO(data)
    return list(iter(lambda: stream.readline(tr.MAX_LINE_BYTES + 1), b""))


def test_a_line_may_be_one_mib_long_and_no_longer():
    empty = len(_line({**FIRST, "data": {"note": ""}})) - 1
    longest = _line({**FIRST, "data": {"note": "x" * (tr.MAX_LINE_BYTES - empty)}})
    assert len(longest) == tr.MAX_LINE_BYTES + 1
    assert len(tuple(transcript_reader.read(_pieces(longest.encode())))) == 1
    too_long = _line({**FIRST, "data": {"note": "x" * (tr.MAX_LINE_BYTES - empty + 1)}})
    for number, data in ((1, too_long.encode()), (2, longest.encode() + too_long.encode())):
        with pytest.raises(CheckFailed, match=rf"^transcript.jsonl line {number}: is longer than 1024 KiB"):
            tuple(transcript_reader.read(_pieces(data)))
    with pytest.raises(InvalidInput, match="a transcript line may hold 1048576"):
        tr.append(tr.start(), "note-added", {"note": "x" * tr.MAX_LINE_BYTES}, T0)


def test_reading_is_streamed_a_batch_of_lines_ahead_at_most():
    chain = ceremony()
    for minute in range(200):
        chain = tr.append(chain, "note-added", {"minute": minute}, T0 + timedelta(minutes=10 + minute))
    read: list[int] = []

    def lines():
        for number, line in enumerate(_pieces(tr.to_text(chain).encode()), 1):
            read.append(number)
            yield line if number != 150 else b"{broken\n"

    events = transcript_reader.read(lines())
    assert next(events).seq == 0 and len(read) == transcript_reader.BATCH_LINES
    assert [next(events).seq for _ in range(transcript_reader.BATCH_LINES)][-1] == transcript_reader.BATCH_LINES and len(read) == 2 * transcript_reader.BATCH_LINES
    assert len([next(events) for _ in range(148 - transcript_reader.BATCH_LINES - 1)]) == 148 - transcript_reader.BATCH_LINES - 1
    with pytest.raises(CheckFailed, match="^transcript.jsonl line 150: not a transcript line: not JSON"):
        list(events)
    assert len(read) == 3 * transcript_reader.BATCH_LINES  # nothing after the bad line's batch was read


def test_a_batch_decoded_together_is_still_read_line_by_line():
    """Lines that would join into other JSON values (a string cut across two lines) are read each as itself."""
    first = _line(FIRST)
    events = transcript_reader.parse(first)
    second = {"seq": 1, "time": FIRST["time"], "event": "x", "data": {}, "prev": events[0].hash}
    split_string = '{"a":"x\n' + 'y"}\n'
    for text, message in ((first + split_string + _line(second), "line 2: not a transcript line: not JSON"),
                          (first + _line(second)[:-1] + " \n", "line 2: is not in canonical form")):
        with pytest.raises(CheckFailed, match=message):
            transcript_reader.parse(text)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 60), 1 << 60) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(st.text(max_size=4), _json_values, max_size=4), edit=st.integers(0, 5), where=st.integers(0, 10_000))
def test_the_fast_reader_accepts_only_what_the_strict_reader_accepts(data, edit, where):
    """`_checked_line` (C decoder, one canonical comparison) against `_parse_line` (every rule, in order), on
    lines a careless writer makes (floats, big integers, deep nesting, any text) and small edits of them:
    whatever the fast reader accepts, the strict one accepts as the same event; the rest it leaves to it."""
    try:
        line = _line({**FIRST, "data": data})[:-1]
    except ValueError:  # NaN and Infinity cannot even be written canonically
        return
    position = where % (len(line) + 1)
    line = [line, line[:position] + " " + line[position:], line.replace(":", ": ", 1), line.replace("1", "1.0", 1),
            line.replace("0", "-0", 1), line.replace('"', '"\\u0041', 1)][edit]
    fast = transcript_reader._checked_line(line.encode("ascii"), 1, tr.GENESIS)
    try:
        strict = transcript_reader._parse_line(line, 1, tr.GENESIS, "transcript.jsonl")
    except CheckFailed:
        assert fast is None
    else:
        assert fast is None or fast == strict


def test_a_second_line_with_a_consistent_hash_but_wrong_seq_is_named():
    first = tr.to_line(ceremony().events[0])
    events = transcript_reader.parse(first)
    text = first + _line({"seq": 5, "time": "2026-11-21T17:51:00Z", "event": "x", "data": {}, "prev": events[0].hash})
    with pytest.raises(CheckFailed, match="^transcript.jsonl line 2: seq is 5, expected 1$"):
        transcript_reader.parse(text)


def _line_of(text: str, position: int) -> int:
    """The 1-based line holding byte `position` (a line's line feed belongs to it)."""
    return text.count("\n", 0, position) + 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_byte_change_fails_at_its_line(data):
    original = tr.to_text(ceremony()).encode("ascii")
    position = data.draw(st.integers(0, len(original) - 1), "position")
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]), "kind")
    if kind == "replace":
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]), "byte")
        changed = original[:position] + bytes([byte]) + original[position + 1:]
    elif kind == "insert":
        position = data.draw(st.integers(0, len(original)), "insert at")
        changed = original[:position] + bytes([data.draw(st.integers(0, 255), "byte")]) + original[position:]
    else:
        changed = original[:position] + original[position + 1:]
    with pytest.raises(CheckFailed) as failure:
        transcript_reader.parse_bytes(changed)
    expected = _line_of(original.decode("ascii"), position)
    if kind == "insert" and position == len(original):
        expected = original.count(b"\n") + 1
    assert f"transcript.jsonl line {expected}:" in failure.value.message


def test_manifest_binding_uses_the_last_event_that_records_one():
    chain = ceremony()
    chain = tr.append(chain, "manifest-rewritten", {"manifest_sha256": hashlib.sha256(b"v2").hexdigest()}, T0 + timedelta(hours=1))
    chain = tr.append(chain, "drill-scheduled", {"days": 180}, T0 + timedelta(hours=2))
    assert anchors.check_manifest(chain.events, b"v2") == 5
    with pytest.raises(CheckFailed, match=r"manifest.json does not match transcript.jsonl line 6 \(manifest-rewritten\)"):
        anchors.check_manifest(chain.events, MANIFEST)
    with pytest.raises(CheckFailed, match="records no manifest"):
        anchors.check_manifest(chain.events[:4], MANIFEST)
    bad = tr.append(tr.start(), "x", {"manifest_sha256": "ABC"}, T0)
    with pytest.raises(CheckFailed, match="line 1: data.manifest_sha256 should be 64 lower-case hex"):
        anchors.check_manifest(bad.events, MANIFEST)


def test_signature_round_trip_and_checks():
    key = software_key("witness")
    chain = ceremony(signer_of(key))
    signature = sign(key, chain.events[-1])
    assert transcript_signature.signature_from_json(transcript_signature.signature_to_json(signature)) == signature
    assert transcript_signature.check_signature(chain.events, signature) == 4
    result = anchors.verify(chain.events, manifest=MANIFEST, signature=signature, written_down=tr.head(chain))
    assert (result.events, result.signed_seq, result.manifest_seq, result.witnessed_seq) == (5, 4, 4, 4)
    assert result.signer_public_key_sha256 == signer_of(key).public_key_sha256
    # A token's raw signature over the digest is an ordinary ECDSA-SHA256 signature over the message.
    r, s = int.from_bytes(signature.signature[:32], "big"), int.from_bytes(signature.signature[32:], "big")
    message = b"coldvault-transcript-signature/1\x00" + chain.events[-1].hash.encode("ascii")
    key.public_key().verify(utils.encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))


def _signature_document(**changes) -> str:
    key = software_key("witness")
    document = json.loads(transcript_signature.signature_to_json(sign(key, ceremony(signer_of(key)).events[-1])))
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v != "<drop>"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_signature_document(format="coldvault-transcript-signature/2"), "unknown format"),
        (_signature_document(key_id="01"), 'key_id is not a field'),
        (_signature_document(token_label="<drop>"), "token_label is missing"),
        (_signature_document(token_label=""), "token_label should be a non-empty string or null"),
        (_signature_document(seq=-1), "seq should be a whole number"),
        (_signature_document(hash="F" * 64), "hash should be 64 lower-case hex digits"),
        (_signature_document(algorithm="ecdsa-p384-sha384"), "algorithm should be ecdsa-p256-sha256"),
        (_signature_document(public_key_sha256="0" * 64), "public_key_sha256 is not the SHA-256 of public_key"),
        (_signature_document(signature="AAAA"), "signature has 3 bytes"),
        (_signature_document(signature=json.loads(_signature_document())["signature"].rstrip("=")), "not standard base64"),
        (_signature_document(signature=" " + json.loads(_signature_document())["signature"]), "not standard base64"),
        (_signature_document(signature=json.loads(_signature_document())["signature"][:-3] + "B=="), "not canonical base64"),
        (_signature_document(public_key=1), "public_key should be a base64 string"),
        ('{"format": "a", "format": "a"}', 'the key "format" appears twice'),
    ],
)
def test_signature_readers_reject(text, message):
    with pytest.raises(CheckFailed, match=re.escape(message)):
        transcript_signature.signature_from_json(text)


def test_signature_keys_must_be_canonical_p256():
    key = software_key("witness")
    chain = ceremony(signer_of(key))
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    compressed = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + point
    p384 = ec.generate_private_key(ec.SECP384R1())
    for public_key, message in (
        (der(key) + b"\x00", "not a DER SubjectPublicKeyInfo"),
        (der(p384), "not an EC P-256 key"),
        (compressed, "not in canonical DER"),
    ):
        forged = replace(sign(key, chain.events[-1]), public_key=public_key)
        declared = tr.append(tr.start(), "ceremony-started",
                             {"signing": {"public_key_sha256": hashlib.sha256(public_key).hexdigest(), "token_label": None, "key_label": None}}, T0)
        with pytest.raises(CheckFailed, match=message):
            transcript_signature.check_signature(declared.events, replace(forged, seq=0, hash=declared.events[0].hash))


def test_a_malformed_signing_declaration_is_refused():
    chain = tr.append(tr.start(), "ceremony-started", {"signing": {"public_key_sha256": "x"}}, T0)
    with pytest.raises(CheckFailed, match="line 1: data.signing should be null or an object"):
        transcript_signature.check_signature(chain.events, None)


@pytest.mark.parametrize("label", ["token_label", "key_label"])
def test_an_empty_signing_label_is_refused_by_every_reader_and_never_written(label):
    """docs/transcript.md: a label is a non-empty string or null, in data.signing and in the signature file alike."""
    key = software_key("witness")
    declared = {"public_key_sha256": signer_of(key).public_key_sha256, "token_label": "witness-card", "key_label": "k", label: ""}
    chain = tr.append(tr.start(), "ceremony-started", {"signing": declared}, T0)
    with pytest.raises(CheckFailed, match=r"^transcript.jsonl line 1: data.signing should be null or an object .*non-empty strings or null"):
        transcript_signature.declared_signer(chain.events)
    with pytest.raises(CheckFailed, match=f"{label} should be a non-empty string or null"):
        transcript_signature.signature_from_json(_signature_document(**{label: ""}))
    with pytest.raises(ValueError, match="non-empty string or None"):
        transcript_signature.Signer(declared["public_key_sha256"], **{"token_label": "t", "key_label": "k", label: ""})
    raw = sign(key, chain.events[0]).signature
    with pytest.raises(ValueError, match="non-empty string or None"):
        transcript_signature.signature_for(chain.events[0], der(key), raw, **{"token_label": "t", "key_label": "k", label: ""})
    # no label at all is null, read back as None, in both places
    unlabelled = transcript_signature.signature_for(chain.events[0], der(key), raw, **{"token_label": "t", "key_label": "k", label: None})
    assert getattr(transcript_signature.signature_from_json(transcript_signature.signature_to_json(unlabelled)), label) is None
    none = tr.append(tr.start(), "ceremony-started", {"signing": {**declared, label: None}}, T0)
    assert getattr(transcript_signature.declared_signer(none.events), label) is None


def test_head_as_typed():
    head = tr.head(ceremony())
    assert anchors.read_head(f"  {head.upper()} \n") == head
    with pytest.raises(InvalidInput):
        anchors.read_head(head[:-1])


# ---------------------------------------------------------------- the documented example


def _block(language: str) -> str:
    return re.search(rf"```{language}\n(.*?)```", DOC, re.S).group(1)


def test_the_documented_example_is_what_the_code_writes():
    pem = re.search(r"(-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----)", DOC, re.S).group(1)
    key = load_pem_private_key(pem.encode(), password=None)
    assert key.private_numbers().private_value == software_key("coldvault transcript example key").private_numbers().private_value
    signer = transcript_signature.Signer(hashlib.sha256(der(key)).hexdigest(), "witness-card", "coldvault-transcript")
    chain = tr.append(tr.start(), "ceremony-started",
                      {"ceremony_id": CEREMONY_ID, "witnesses": ["Alice", "Zo\u00eb"], "signing": transcript_signature.signing_data(signer)}, T0)
    chain = tr.append(chain, "shares-split",
                      {"secret_fingerprint": "1d28f1e37d9f3d0842eb0398d42562ac", "group_threshold": 1, "shares": 3},
                      datetime(2026, 11, 21, 17, 55, 10, tzinfo=timezone.utc))
    chain = tr.append(chain, "ceremony-finished", {"manifest_sha256": hashlib.sha256(b"manifest.json").hexdigest()},
                      datetime(2026, 11, 21, 18, 2, 33, tzinfo=timezone.utc))

    assert _block("jsonl") == tr.to_text(chain)
    first = chain.events[0]
    preimage = _block("text").strip()
    assert preimage == tr.canonical_line({k: getattr(first, k) for k in tr.MEMBERS[:-1]})
    assert hashlib.sha256(b"coldvault-transcript/1\x00" + preimage.encode()).hexdigest() == first.hash
    assert f"head (seq 2): `{tr.head(chain)}`" in DOC
    assert f"digest signed: `{transcript_signature.signature_digest(tr.head(chain)).hex()}`" in DOC
    assert signer.public_key_sha256 in DOC
    assert _block("json") == transcript_signature.signature_to_json(sign(key, chain.events[-1], deterministic=True))


def test_the_documented_example_verifies():
    events = transcript_reader.parse(_block("jsonl"))
    signature = transcript_signature.signature_from_json(_block("json"))
    result = anchors.verify(events, signature=signature)
    assert (result.events, result.signed_seq, result.head) == (3, 2, events[-1].hash)


# ---------------------------------------------------------------- the CLI, in a subprocess


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    """An unsigned ceremony's directory: transcript.jsonl and the manifest it records."""
    directory = tmp_path / "ceremony"
    directory.mkdir()
    (directory / "transcript.jsonl").write_text(tr.to_text(ceremony()))
    (directory / "manifest.json").write_bytes(MANIFEST)
    return directory


WITNESS = software_key("witness")


@pytest.fixture
def signed_dir(vault_dir: Path) -> Path:
    """The same ceremony, declaring and carrying a signature over its head."""
    chain = ceremony(signer_of(WITNESS))
    (vault_dir / "transcript.jsonl").write_text(tr.to_text(chain))
    (vault_dir / "transcript.sig.json").write_text(transcript_signature.signature_to_json(sign(WITNESS, chain.events[-1])))
    return vault_dir


def _lines(directory: Path, name: str = "transcript.jsonl") -> list[str]:
    return (directory / name).read_text().splitlines(keepends=True)


def _rewrite(directory: Path, edit: Callable[[list[str]], list[str]], name: str = "transcript.jsonl") -> None:
    (directory / name).write_bytes("".join(edit(_lines(directory, name))).encode("latin-1"))


def _in_line(number: int, old: str, new: str) -> Callable[[list[str]], list[str]]:
    """Change the first `old` in line `number` (1-based) to `new`."""
    def edit(lines: list[str]) -> list[str]:
        assert old in lines[number - 1], (old, lines[number - 1])
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
        return lines
    return edit


def _flip(text: str) -> str:
    """`text` with its first character changed to another of the same kind (hex stays hex)."""
    return ("1" if text[0] != "1" else "2") + text[1:]


LINE_3 = ceremony().events[2]

TAMPERING = {
    "a digit of seq": (_in_line(3, '"seq":2,', '"seq":7,'), "line 3: hash does not match its content"),
    "a char of time": (_in_line(3, LINE_3.time, LINE_3.time.replace(":00Z", ":01Z")), "line 3: hash does not match its content"),
    "a char of event": (_in_line(3, "shares-split", "shares-splat"), "line 3: hash does not match its content"),
    "a char of data": (_in_line(3, '"member_threshold":2', '"member_threshold":3'), "line 3: hash does not match its content"),
    "a char of data's text": (_in_line(3, "Board", "Boarf"), "line 3: hash does not match its content"),
    "a char of prev": (_in_line(3, LINE_3.prev, _flip(LINE_3.prev)), "line 3: hash does not match its content"),
    "a char of hash": (_in_line(3, LINE_3.hash, _flip(LINE_3.hash)), "line 3: hash does not match its content"),
    "white space added": (_in_line(3, '"seq":2,', '"seq": 2,'), "line 3: is not in canonical form"),
    "a trailing space": (_in_line(3, "}\n", "} \n"), "line 3: is not in canonical form"),
    "a CRLF line ending": (_in_line(3, "}\n", "}\r\n"), "line 3: is not in canonical form"),
    "a non-ASCII byte": (_in_line(3, "Board", "B\xf6ard"), "line 3: has a non-ASCII byte"),
    "the first line removed": (lambda lines: lines[1:], "line 1: prev is not 64 zeros"),
    "a middle line removed": (lambda lines: lines[:2] + lines[3:], "line 3: prev is not line 2's hash"),
    "the last line removed": (lambda lines: lines[:-1], "transcript.jsonl records no manifest"),
    "two lines swapped": (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "line 2: prev is not line 1's hash"),
    "a line duplicated": (lambda lines: [*lines[:3], lines[2], *lines[3:]], "line 4: prev is not line 3's hash"),
    "the final line feed removed": (lambda lines: [*lines[:-1], lines[-1][:-1]], "line 5: has no line ending"),
    "an empty line": (lambda lines: [*lines[:2], "\n", *lines[2:]], "line 3: is empty"),
    "emptied": (lambda lines: [], "transcript.jsonl: the file is empty"),
}


def _appended_by_hand(prev_of: int, seq: int) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        prev = json.loads(lines[prev_of - 1])["hash"]
        return [*lines, _line({"seq": seq, "time": "2026-11-22T09:00:00Z", "event": "note", "data": {}, "prev": prev})]
    return edit


TAMPERING["a line appended with a wrong prev"] = (_appended_by_hand(4, 5), "line 6: prev is not line 5's hash")
TAMPERING["a line appended with a wrong seq"] = (_appended_by_hand(5, 9), "line 6: seq is 9, expected 5")


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_exits_1_naming_the_line(cli, vault_dir, case):
    assert cli("transcript", "verify", vault_dir).returncode == 0
    edit, message = TAMPERING[case]
    _rewrite(vault_dir, edit)
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 1, result
    assert result.stderr.startswith(f"error: {vault_dir / 'transcript.jsonl'}")
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_intact_directory_passes(cli, vault_dir):
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 0, result.stderr
    head = tr.head(ceremony())
    assert f"{vault_dir / 'transcript.jsonl'}: 5 events, hash chain intact" in result.stdout
    assert f"head: seq 4, hash {head}" in result.stdout
    assert f"manifest.json: SHA-256 {hashlib.sha256(MANIFEST).hexdigest()} matches the one recorded at seq 4" in result.stdout
    assert "signature: none" in result.stdout


def test_json_output(cli, vault_dir):
    result = cli("transcript", "verify", vault_dir, "--json")
    assert result.returncode == 0, result.stderr
    payload = result.json()
    assert payload["ok"] is True and payload["drills"] is None
    assert payload["transcript"]["events"] == 5
    assert payload["transcript"]["head"] == tr.head(ceremony())
    assert payload["transcript"]["manifest_seq"] == 4 and payload["transcript"]["signed_seq"] is None
    _rewrite(vault_dir, lambda lines: lines[1:])
    failed = cli("transcript", "verify", vault_dir, "--json")
    assert failed.returncode == 1
    assert failed.json()["ok"] is False and "line 1: prev is not 64 zeros" in failed.json()["error"]


def test_the_manifest_changed_by_one_byte(cli, vault_dir):
    (vault_dir / "manifest.json").write_bytes(MANIFEST.replace(b"/1", b"/2"))
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 1
    assert f"manifest.json does not match {vault_dir / 'transcript.jsonl'} line 5 (ceremony-finished)" in result.stderr


def test_without_a_manifest_the_binding_is_not_checked(cli, vault_dir):
    (vault_dir / "manifest.json").unlink()
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 0
    assert "manifest.json: not present; not checked" in result.stdout


def test_a_missing_transcript_is_invalid_input(cli, tmp_path):
    result = cli("transcript", "verify", tmp_path)
    assert result.returncode == 3
    assert "transcript.jsonl: no such file" in result.stderr


def test_the_head_written_down(cli, vault_dir):
    head = tr.head(ceremony())
    result = cli("transcript", "verify", vault_dir, "--head", head.upper())
    assert result.returncode == 0, result.stderr
    assert "head written down: seq 4 (the head)" in result.stdout
    _rewrite(vault_dir, lambda lines: lines[:-1])
    (vault_dir / "manifest.json").unlink()
    assert cli("transcript", "verify", vault_dir).returncode == 0  # the chain alone cannot tell
    result = cli("transcript", "verify", vault_dir, "--head", head)
    assert result.returncode == 1
    assert f"no line has the head hash written down ({head}); the last, line 4," in result.stderr
    assert cli("transcript", "verify", vault_dir, "--head", "abc").returncode == 3


def test_a_signed_transcript_passes(cli, signed_dir):
    result = cli("transcript", "verify", signed_dir)
    assert result.returncode == 0, result.stderr
    digest = signer_of(WITNESS).public_key_sha256
    assert f"signature: covers seq 0 to 4 (the head), by key SHA-256 {digest}\n" in result.stdout
    assert 'labels in the signature file (not verified: anyone can write them): token "witness-card", key "coldvault-transcript"' in result.stdout
    assert result.stdout.endswith("OK: every check passed\n")


def _edit_signature(**changes) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        path = directory / "transcript.sig.json"
        document = json.loads(path.read_text())
        document.update({k: v(document[k]) if callable(v) else v for k, v in changes.items()})
        path.write_text(json.dumps(document, indent=2))
    return edit


def _one_base64_char(text: str) -> str:
    return text[:10] + ("A" if text[10] != "A" else "B") + text[11:]


def _signed_by_another_key(directory: Path) -> None:
    events = transcript_reader.parse((directory / "transcript.jsonl").read_text())
    (directory / "transcript.sig.json").write_text(transcript_signature.signature_to_json(sign(software_key("intruder"), events[-1])))


SIGNATURE_TAMPERING = {
    "signature altered": (_edit_signature(signature=_one_base64_char), "the signature does not verify"),
    "signed hash altered": (_edit_signature(hash=_flip), "the signature does not verify"),
    "signed seq altered": (_edit_signature(seq=3), "transcript.jsonl line 4: its hash is not the one"),
    "label altered": (_edit_signature(key_label=""), "key_label should be a non-empty string or null"),
    "removed when declared": (lambda d: (d / "transcript.sig.json").unlink(), "declares that it is signed"),
    "signed by another key": (_signed_by_another_key, "it is another key's signature"),
    "last line removed": (lambda d: _rewrite(d, lambda lines: lines[:-1]) or (d / "manifest.json").unlink(),
                          "covers line 5 (seq 4), but"),
    "not valid JSON": (lambda d: (d / "transcript.sig.json").write_text("{"), "transcript.sig.json: not a transcript signature"),
}


@pytest.mark.parametrize("case", list(SIGNATURE_TAMPERING))
def test_signature_tampering_exits_1(cli, signed_dir, case):
    edit, message = SIGNATURE_TAMPERING[case]
    edit(signed_dir)
    result = cli("transcript", "verify", signed_dir)
    assert result.returncode == 1, result
    assert message in result.stderr, result.stderr


def test_a_signature_on_an_unsigned_transcript_is_refused(cli, vault_dir):
    events = transcript_reader.parse((vault_dir / "transcript.jsonl").read_text())
    (vault_dir / "transcript.sig.json").write_text(transcript_signature.signature_to_json(sign(WITNESS, events[-1])))
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 1
    assert "transcript.sig.json is present, but" in result.stderr and "does not declare a signing key" in result.stderr


def test_a_signature_over_a_prefix_still_holds_after_appending(cli, signed_dir):
    chain = tr.Chain(transcript_reader.parse((signed_dir / "transcript.jsonl").read_text()))
    chain = tr.append(chain, "drill-recorded", {"result": "recovered"}, T0 + timedelta(days=180))
    chain = tr.append(chain, "note", {"text": "appended later"}, T0 + timedelta(days=181))
    (signed_dir / "transcript.jsonl").write_text(tr.to_text(chain))
    result = cli("transcript", "verify", signed_dir, "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["transcript"]["signed_seq"] == 4 and result.json()["transcript"]["events"] == 7
    human = cli("transcript", "verify", signed_dir)
    assert "signature: covers seq 0 to 4 (not the last 2 events: chained, not signed)" in human.stdout


def test_the_drill_log_is_checked_too(cli, vault_dir):
    """Its chain, and what its lines say of themselves even with no manifest to weigh records against:
    a drill log holds `drill` records only (docs/drills.md), so a line of another event is named."""
    drills = tr.append(tr.start(), "drill-started", {"ceremony_id": CEREMONY_ID}, T0)
    drills = tr.append(drills, "drill-finished", {"recovered": True, "shares": 2}, T0 + timedelta(hours=1))
    (vault_dir / "drills.jsonl").write_text(tr.to_text(drills))
    result = cli("transcript", "verify", vault_dir, "--json")
    assert result.returncode == 1 and result.json()["ok"] is False
    assert (f"error: the drill log was tampered with: {vault_dir / 'drills.jsonl'} line 1: a 'drill-started' event: "
            "a drill log holds 'drill' records only") in result.stderr
    assert f"{vault_dir / 'drills.jsonl'} line 2: a 'drill-finished' event" in result.stderr
    _rewrite(vault_dir, _in_line(2, "true", "false"), "drills.jsonl")
    result = cli("transcript", "verify", vault_dir)
    assert result.returncode == 1
    assert f"error: {vault_dir / 'drills.jsonl'} line 2: hash does not match its content" in result.stderr


def test_help_lists_the_group(cli):
    result = cli("--help")
    assert "transcript" in result.stdout
    assert "verify" in cli("transcript", "--help").stdout
