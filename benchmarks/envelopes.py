"""Sealing and opening share envelopes on SoftHSM2: coldvault against the raw operation, in one run.

Run by hand: `.venv/bin/python benchmarks/envelopes.py [--count N] [--repeat R]`.
It makes its own SoftHSM2 token store in a temporary directory (its own
SOFTHSM2_CONF, set before the PKCS#11 library is loaded), one token, and an
AES-256, an EC P-256 and an RSA-3072 key with `vault.edges.tokens.keys.generate_key`. It
splits a throwaway secret into 256 shares (16 groups x 16 members, 8-of-16 each,
group threshold 8, iteration exponent 0); N > 256 reuses them in turn.

For each recipient kind it seals and opens the N shares with coldvault's own
functions and, in the same run, does the raw operation alone on the same N items:

  pkcs11-aes-gcm seal  `packets.seal` (the one every command seals with), which encrypts
                       on the token AND opens each envelope once (`Opener.open`) to prove it; so its raw
                       counterpart is C_Encrypt + C_Decrypt (CKM_AES_GCM), same key.
  pkcs11-aes-gcm open  `Opener.open` against raw C_Decrypt (CKM_AES_GCM).
  ecdh-p256 seal       `envelope.seal` to the public key, in software (no token), against
                       `cryptography` alone: ephemeral key and its point, ECDH,
                       HKDF-SHA256, AES-GCM.
  ecdh-p256 open       `Opener.open` against raw C_DeriveKey (CKM_ECDH1_DERIVE) with the
                       token's private key plus reading the derived value.
  rsa-oaep seal        `envelope.seal` to the public key (OAEP SHA-1), in software, against
                       `cryptography` alone: RSA-OAEP encrypt of a data key, AES-GCM.
  rsa-oaep open        `Opener.open` against raw C_Decrypt (CKM_RSA_PKCS_OAEP, SHA-1:
                       SoftHSM2 2.6 refuses SHA-256).

Raw token operations use a key found before the clock starts; that lookup, the
envelope format, the share check and (for ecdh/rsa) the software AES-GCM are what
coldvault adds. Every pass (coldvault's or raw) gets a fresh logged-in session (the
login is not timed; closing it drops the session objects a pass made); coldvault and
raw passes are interleaved; R passes each, the median is printed. Overhead is
(coldvault - raw) / raw; issue 3's target is under 25% of the token's own time.
The seal rows for ecdh/rsa involve no token: the same 25% bar is applied against raw
`cryptography`, and labelled so. Last, where coldvault's time goes, per envelope.
Nothing is scaled: every figure is N real envelopes, timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from vault.core.backup import SplitOptions, make_backup
from vault.core.formats import envelope as ev
from vault.core.formats.plan import Delivery
from vault.core.recipients import ecdh_p256, registry, rsa_oaep
from vault.core.recipients.base import (
    DATA_KEY_LENGTH_BYTES,
    KeyPairQuery,
    SecretKeyQuery,
    SoftwareAead,
    Target,
    public_key_sha256,
)
from vault.core.scheme import make_scheme
from vault.core.secret import generate
from vault.core.slip39.share import Share
from vault.edges import sources
from vault.edges.tokens import discovery, keys
from vault.edges.tokens import opener as opener_module
from vault.edges.tokens.opener import Opener
from vault.edges.tokens.sessions import session
from vault.flows import packets

TOKEN = "bench"
PIN = "1234"
TARGET = 0.25
PARTS: dict[str, tuple[tuple[Any, str], ...]] = {
    "key lookup": ((opener_module, "find"),),
    "token op": ((keys._TokenAead, "encrypt"), (keys._TokenAead, "decrypt"), (keys.TokenKey, "ecdh_shared_x"),
                 (keys.TokenKey, "rsa_oaep_decrypt")),
    "share check": ((ev, "check_opened"),),
}
"""coldvault's functions timed in the breakdown: attributes looked up at call time by the opener and the envelope."""


@dataclass
class Row:
    kind: str
    operation: str
    raw_what: str
    base: str
    """"token" or "software": what the raw operation is."""
    coldvault: list[float]
    raw: list[float]


def per_pass(run: Callable[[int], object], count: int) -> float:
    """Seconds for run(0) ... run(count - 1)."""
    start = time.perf_counter()
    for i in range(count):
        run(i)
    return time.perf_counter() - start


def softhsm_store(work: Path) -> Path:
    """A private SoftHSM2 token store with one initialised token; returns the module's path."""
    module = next((Path(p) for p in discovery.SOFTHSM2_PATHS if Path(p).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        sys.exit("SoftHSM2 is not installed (Debian package softhsm2; `make test` installs it)")
    (work / "tokens").mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before python-pkcs11 loads the library (once per process)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "5678"],
                   check=True, stdout=subprocess.DEVNULL)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=256, help="envelopes per pass (default 256: all shares of 16x16)")
    parser.add_argument("--repeat", type=int, default=5, help="passes per measurement; the median is printed")
    arguments = parser.parse_args()
    count, repeat = arguments.count, arguments.repeat
    if count < 1 or repeat < 1:
        parser.error("--count and --repeat must be at least 1")

    with tempfile.TemporaryDirectory(prefix="coldvault-bench-envelopes-") as directory:
        work = Path(directory)
        module_path = softhsm_store(work)
        (work / "pin").write_text(PIN + "\n")
        pins = {TOKEN: work / "pin"}
        run(module_path, pins, count, repeat)


def run(module_path: Path, pins: dict[str, Path], count: int, repeat: int) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from pkcs11 import KDF, MGF, Attribute, KeyType, Mechanism
    from pkcs11.mechanisms import GCMParams

    setup_start = time.perf_counter()
    pin = sources.pin_source(pins)
    with session(discovery.Modules([module_path]).token(TOKEN), pin, write=True) as live:
        aes_id = keys.generate_key(live, "aes", "aes")
        keys.generate_key(live, "ec", "ec")
        keys.generate_key(live, "rsa", "rsa")
        ec_public = keys.public_key(live, "ec")
        rsa_public = keys.public_key(live, "rsa")

    secret = generate(256)
    backup = make_backup(secret, make_scheme(8, [(8, 16)] * 16), b"", SplitOptions(iteration_exponent=0),
                         datetime.now(timezone.utc))
    assert len(backup.shares) == 256
    shares = [backup.shares[i % len(backup.shares)] for i in range(count)]
    plaintexts = [ev.plaintext(share) for share in shares]

    def opener() -> Opener:
        """A fresh Opener, logged in before the clock starts."""
        fresh = Opener(discovery.Modules([module_path]), pin)
        try:
            fresh.session(TOKEN)
        except BaseException:
            fresh.__exit__(None, None, None)
            raise
        return fresh

    # Envelopes to open (sealed once, not timed), and what the raw operations need.
    ec_target = Target(ecdh_p256.NAME, public_key=ec_public, token_label=TOKEN, key_label="ec")
    rsa_target = Target(rsa_oaep.NAME, public_key=rsa_public, token_label=TOKEN, key_label="rsa", oaep_hash="sha1")
    with opener() as o:
        assert o.key(TOKEN, KeyPairQuery(public_key_sha256(ec_public))).label == "ec"
        assert o.key(TOKEN, KeyPairQuery(public_key_sha256(rsa_public))).label == "rsa"
        aes_envelopes = [seal_on_token(o, share) for share in shares]
    ec_envelopes = [ev.seal(s, ec_target) for s in shares]
    rsa_envelopes = [ev.seal(s, rsa_target) for s in shares]
    aads = [e.associated_data() for e in aes_envelopes]
    ec_aads = [e.associated_data() for e in ec_envelopes]
    rsa_aads = [e.associated_data() for e in rsa_envelopes]
    nonces = [secrets.token_bytes(ev.NONCE_LENGTH_BYTES) for _ in range(count)]
    data_keys = [secrets.token_bytes(DATA_KEY_LENGTH_BYTES) for _ in range(count)]
    ec_point = ecdh_p256.point_bytes(ec_public)
    ec_digest = public_key_sha256(ec_public)
    rsa_digest = public_key_sha256(rsa_public)
    oaep_sha1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    setup_s = time.perf_counter() - setup_start

    # ---------------------------------------------------------------- passes
    # Each returns its seconds; the session is opened and the key found before the clock.

    def cv_aes_seal() -> float:
        with opener() as o:
            sealed: list[ev.Envelope] = []
            seconds = per_pass(lambda i: sealed.append(seal_on_token(o, shares[i])), count)
        assert [e.share_fingerprint for e in sealed] == [s.fingerprint for s in shares]
        return seconds

    def cv_open(envelopes: list[ev.Envelope]) -> Callable[[], float]:
        def timed_pass() -> float:
            with opener() as o:
                opened: list[object] = []
                seconds = per_pass(lambda i: opened.append(o.open(envelopes[i])), count)
            assert opened == shares
            return seconds
        return timed_pass

    def raw_aes(encrypt: bool, decrypt: bool) -> Callable[[], float]:
        def timed_pass() -> float:
            with opener() as o:
                key = keys.find(o.session(TOKEN), TOKEN, SecretKeyQuery("aes", aes_id)).handle
                sealed = [e.ciphertext for e in aes_envelopes]
                used = [e.nonce for e in aes_envelopes]
                start = time.perf_counter()
                if encrypt:
                    used = nonces
                    sealed = [key.encrypt(plaintexts[i], mechanism=Mechanism.AES_GCM,
                                          mechanism_param=GCMParams(nonces[i], aads[i], 128)) for i in range(count)]
                if decrypt:
                    opened = [key.decrypt(sealed[i], mechanism=Mechanism.AES_GCM,
                                          mechanism_param=GCMParams(used[i], aads[i], 128)) for i in range(count)]
                seconds = time.perf_counter() - start
            if decrypt:
                assert opened == plaintexts
            return seconds
        return timed_pass

    def raw_ecdh_derive() -> float:
        with opener() as o:
            private = keys.find(o.session(TOKEN), TOKEN, KeyPairQuery(ec_digest)).handle
            template = {Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True, Attribute.TOKEN: False}
            start = time.perf_counter()
            shared = [bytes(private.derive_key(KeyType.GENERIC_SECRET, 256, template=template,
                                               mechanism_param=(KDF.NULL, None, ephemeral(ec_envelopes[i])))
                            [Attribute.VALUE]) for i in range(count)]
            seconds = time.perf_counter() - start
        for i in (0, count - 1):  # the raw results are the real ones
            key = ecdh_p256.data_key_of(shared[i], ephemeral(ec_envelopes[i]), ec_point)
            assert open_with_data_key(ec_envelopes[i], key) == shares[i]
        return seconds

    def raw_rsa_decrypt() -> float:
        with opener() as o:
            private = keys.find(o.session(TOKEN), TOKEN, KeyPairQuery(rsa_digest)).handle
            start = time.perf_counter()
            data_keys_ = [private.decrypt(wrapped(rsa_envelopes[i]), mechanism=Mechanism.RSA_PKCS_OAEP,
                                    mechanism_param=(Mechanism.SHA_1, MGF.SHA1, None)) for i in range(count)]
            seconds = time.perf_counter() - start
        assert all(open_with_data_key(rsa_envelopes[i], data_keys_[i]) == shares[i] for i in (0, count - 1))
        return seconds

    def cv_soft_seal(target: Target) -> Callable[[], float]:
        def timed_pass() -> float:
            return per_pass(lambda i: ev.seal(shares[i], target), count)
        return timed_pass

    def raw_ecdh_seal(i: int) -> bytes:
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        point = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        shared_x = ephemeral.exchange(ec.ECDH(), ec_public)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=point + ec_point, info=ecdh_p256.HKDF_INFO).derive(shared_x)
        return AESGCM(key).encrypt(nonces[i], plaintexts[i], ec_aads[i])

    def raw_rsa_seal(i: int) -> bytes:
        rsa_public.encrypt(data_keys[i], oaep_sha1)
        return AESGCM(data_keys[i]).encrypt(nonces[i], plaintexts[i], rsa_aads[i])

    plan: list[tuple[Row, Callable[[], float], Callable[[], float]]] = [
        (Row("pkcs11-aes-gcm", "seal (+ proof: opens each)", "C_Encrypt + C_Decrypt, CKM_AES_GCM", "token", [], []),
         cv_aes_seal, raw_aes(True, True)),
        (Row("pkcs11-aes-gcm", "open", "C_Decrypt, CKM_AES_GCM", "token", [], []),
         cv_open(aes_envelopes), raw_aes(False, True)),
        (Row(ecdh_p256.NAME, "seal (software)", "cryptography: keygen, ECDH, HKDF, AES-GCM", "software", [], []),
         cv_soft_seal(ec_target), lambda: per_pass(raw_ecdh_seal, count)),
        (Row(ecdh_p256.NAME, "open", "C_DeriveKey CKM_ECDH1_DERIVE + read value", "token", [], []),
         cv_open(ec_envelopes), raw_ecdh_derive),
        (Row(rsa_oaep.NAME, "seal (software)", "cryptography: RSA-OAEP encrypt, AES-GCM", "software", [], []),
         cv_soft_seal(rsa_target), lambda: per_pass(raw_rsa_seal, count)),
        (Row(rsa_oaep.NAME, "open", "C_Decrypt CKM_RSA_PKCS_OAEP SHA-1", "token", [], []),
         cv_open(rsa_envelopes), raw_rsa_decrypt),
    ]
    measure_start = time.perf_counter()
    for round_ in range(repeat):
        for row, coldvault, raw in plan:  # interleaved, alternating which goes first
            if round_ % 2:
                row.raw.append(raw())
                row.coldvault.append(coldvault())
            else:
                row.coldvault.append(coldvault())
                row.raw.append(raw())
    measure_s = time.perf_counter() - measure_start

    # ---------------------------------------------------------------- where the time goes
    # One more pass of each coldvault row that touches the token, with coldvault's own
    # functions wrapped in timers (the benchmark wraps them; vault/ is unchanged).
    def attributed(label: str, body: Callable[[Opener, int], object]) -> tuple[str, dict[str, float]]:
        spent = dict.fromkeys(PARTS, 0.0)
        originals = {(module_, name): getattr(module_, name) for part in PARTS.values() for module_, name in part}

        def timer(part: str, function: Callable[..., object]) -> Callable[..., object]:
            def wrapped(*args: object, **kwargs: object) -> object:
                start = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    spent[part] += time.perf_counter() - start
            return wrapped

        with opener() as o:
            for part, targets in PARTS.items():
                for module_, name in targets:
                    setattr(module_, name, timer(part, originals[(module_, name)]))
            try:
                total = per_pass(lambda i: body(o, i), count)
            finally:
                for (module_, name), function in originals.items():
                    setattr(module_, name, function)
        spent["rest (envelope format, AAD, software AES-GCM/HKDF, Python)"] = total - sum(spent.values())
        return label, {part: seconds / count for part, seconds in spent.items()}

    attributions = [
        attributed("pkcs11-aes-gcm seal", lambda o, i: seal_on_token(o, shares[i])),
        attributed("pkcs11-aes-gcm open", lambda o, i: o.open(aes_envelopes[i])),
        attributed("ecdh-p256 open", lambda o, i: o.open(ec_envelopes[i])),
        attributed("rsa-oaep open", lambda o, i: o.open(rsa_envelopes[i])),
    ]

    # The session objects an ecdh open pass leaves, and what they cost later lookups.
    def lookups(live: Any) -> tuple[float, float]:
        def per_envelope(function: Callable[[int], object]) -> float:
            return statistics.median(per_pass(function, count) for _ in range(repeat)) / count
        return (per_envelope(lambda i: keys.find(live, TOKEN, SecretKeyQuery("aes", aes_id))),
                per_envelope(lambda i: keys.find(live, TOKEN, KeyPairQuery(ec_digest))))

    with opener() as o:
        live = o.session(TOKEN)
        clean = lookups(live)
        for envelope in ec_envelopes:
            o.open(envelope)
        leaked = len(list(live.get_objects({Attribute.TOKEN: False})))
        dirty = lookups(live)

    # ---------------------------------------------------------------- report
    print(f"coldvault envelopes on SoftHSM2 {_softhsm_version()} ({module_path}); python-pkcs11 {version('python-pkcs11')},"
          f" cryptography {version('cryptography')}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{count} envelopes per pass (shares of a 16 groups x 16 members scheme), median of {repeat} passes;"
          " each pass a fresh logged-in session (login not timed); coldvault and raw passes interleaved")
    print("overhead = (coldvault - raw) / raw; target (issue 3): under 25% of the token's own time")
    print()
    print(f"{'kind':<15} {'operation':<27} {'coldvault':>20}   {'raw alone':>20}   {'ratio':>6} {'overhead':>9}  target <25%")
    for row, _, _ in plan:
        cv, raw = statistics.median(row.coldvault), statistics.median(row.raw)
        overhead = (cv - raw) / raw
        verdict = ("yes" if overhead < TARGET else "NO") + ("" if row.base == "token" else " (vs software; no token)")
        print(f"{row.kind:<15} {row.operation:<27} {_rate(cv, count)}   {_rate(raw, count)}   {cv / raw:5.2f}x {overhead:+9.0%}  {verdict}")
        print(f"{'':<17}raw: {row.raw_what}; passes: coldvault {_spread(row.coldvault)}, raw {_spread(row.raw)}")
    print()
    print("where coldvault's time goes, us per envelope (one more pass each, coldvault's functions wrapped in timers):")
    names = list(attributions[0][1])
    print(f"  {'':<21}" + "".join(f"{name.split(' (')[0]:>12}" for name in names) + f"{'total':>9}")
    for label, parts in attributions:
        print(f"  {label:<21}" + "".join(f"{parts[name] * 1e6:12.0f}" for name in names) + f"{sum(parts.values()) * 1e6:9.0f}")
    print("  key lookup: tokens.keys.find (a secret key, or a key pair by its public key); an Opener caches what it found")
    print("  token op: AES-GCM, ECDH or RSA-OAEP on the token (tokens.keys); share check: envelope.check_opened (parse + compare)")
    print("  rest: " + names[-1].split("(")[1].rstrip(")"))
    print(f"  derived ECDH secrets left on the token after an ecdh open pass: {leaked} (should be 0: each is destroyed once read);")
    print(f"  lookups in that session then take: a secret key {dirty[0] * 1e6:.0f} us ({dirty[0] / clean[0]:.1f}x"
          f" the clean session's {clean[0] * 1e6:.0f} us), a key pair {dirty[1] * 1e6:.0f} us"
          f" ({dirty[1] / clean[1]:.1f}x {clean[1] * 1e6:.0f} us)")
    print(f"setup (keys, {len(backup.shares)} shares, envelopes to open) {setup_s:.1f} s; measurements {measure_s:.1f} s")


def seal_on_token(opener: Opener, share: Share) -> ev.Envelope:
    """A share sealed with the token's AES key "aes", as every command seals (and proves) it."""
    target = packets.resolve(Delivery(registry.token_key_kind().name, token=TOKEN, key="aes"), Path("."), opener)
    assert target is not None
    return packets.seal(share, target, opener)[0]


def ephemeral(envelope: ev.Envelope) -> bytes:
    assert isinstance(envelope.recipient, ecdh_p256.EcdhRecipient)
    return envelope.recipient.ephemeral_public_key


def wrapped(envelope: ev.Envelope) -> bytes:
    assert isinstance(envelope.recipient, rsa_oaep.RsaRecipient)
    return envelope.recipient.wrapped_key


def open_with_data_key(envelope: ev.Envelope, data_key: bytes) -> Share:
    return ev.check_opened(envelope, SoftwareAead(data_key).decrypt(envelope.nonce, envelope.ciphertext, envelope.associated_data()))


def _rate(seconds: float, count: int) -> str:
    return f"{count / seconds:7.0f}/s {seconds / count * 1e6:7.0f} us"


def _spread(samples: list[float]) -> str:
    return f"{min(samples) * 1000:.1f}-{max(samples) * 1000:.1f} ms"


def _softhsm_version() -> str:
    completed = subprocess.run(["softhsm2-util", "--version"], capture_output=True, text=True)
    return completed.stdout.strip() or "(unknown version)"


if __name__ == "__main__":
    main()
