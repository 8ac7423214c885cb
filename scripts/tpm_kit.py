"""A software TPM with tpm2-pkcs11 tokens on it: coldvault's second PKCS#11 implementation in the tests.

SoftHSM2 (scripts/softhsm_kit.py) is lenient where real tokens are not, so the tests also
run coldvault against tpm2-pkcs11 on swtpm. `running(work)` starts swtpm on 127.0.0.1 on a
free port with its state under `work`, makes a tpm2-pkcs11 store there (`tpm2_ptool
init`), and stops swtpm on exit; `Tpm.token` adds a token (`pkcs11-tool --init-token`,
then `--init-pin`) with a PIN file, and `Tpm.key_pair` a key made by pkcs11-tool.

There is no TPM resource manager in this rig (a real machine has the kernel's
/dev/tpmrm0, which flushes what a process leaves behind when it closes the device).
tpm2-pkcs11 cleans up after itself when all goes well, but `tpm2_ptool init` and any
PKCS#11 call that fails inside tpm2-pkcs11 (a refused C_GenerateKeyPair, a process that
dies) leave transient objects loaded, and swtpm holds only three: every later login then
fails with "out of memory for object contexts". So the kit flushes transient objects and
sessions (`tpm2_flushcontext -t`, `-l`) after every process that touches the TPM: call
`Tpm.flush()` after running coldvault, or use `Tpm.run`, which does. We flush rather than
run tpm2-abrmd because tpm2-abrmd needs a D-Bus bus and a daemon of its own; a flush costs
a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TPM2_PKCS11_MODULES = (
    "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1",
    "/usr/lib/aarch64-linux-gnu/libtpm2_pkcs11.so.1",
    "/usr/lib/libtpm2_pkcs11.so.1",
    "/usr/local/lib/libtpm2_pkcs11.so.1",
)
TOOLS = ("swtpm", "tpm2_ptool", "tpm2_flushcontext", "pkcs11-tool")
PKCS11_TOOL_KEY_TYPES = {"ec": "EC:prime256v1", "rsa": "rsa:3072"}
SWTPM_START_TIMEOUT_SECONDS = 10.0
SWTPM_STOP_TIMEOUT_SECONDS = 5.0
PORT_ATTEMPTS = 5
LOCALHOST = "127.0.0.1"


def tpm2_pkcs11_module() -> Path | None:
    return next((Path(p) for p in TPM2_PKCS11_MODULES if Path(p).exists()), None)


def missing() -> list[str]:
    """What this kit needs and cannot find (empty when all is installed)."""
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if tpm2_pkcs11_module() is None:
        absent.append("libtpm2_pkcs11.so.1")
    return absent


@dataclass
class Tpm:
    root: Path
    port: int
    module: Path
    env: dict[str, str]
    """TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE, TPM2TOOLS_TCTI and COLDVAULT_PKCS11_MODULE for subprocesses."""
    pins: dict[str, Path] = field(default_factory=dict)
    """Token label -> PIN file (0600)."""

    def pin_args(self, *labels: str) -> list[str]:
        chosen = labels or tuple(self.pins)
        return [arg for label in chosen for arg in ("--pin-file", f"{label}={self.pins[label]}")]

    def token(self, label: str) -> Path:
        """A new token labelled `label` with a user PIN; returns its PIN file."""
        pin, so_pin = f"pin-{label}-0000", f"so-{label}-0000"
        # tpm2-pkcs11 always offers one empty slot, after the tokens already made.
        self.pkcs11_tool("--slot-index", str(len(self.pins)), "--init-token", "--label", label, "--so-pin", so_pin)
        self.pkcs11_tool("--token-label", label, "--login", "--login-type", "so", "--so-pin", so_pin,
                         "--init-pin", "--new-pin", pin)
        pins = self.root / "pins"
        pins.mkdir(mode=0o700, exist_ok=True)
        path = pins / f"{label}.pin"
        path.write_text(pin + "\n")
        path.chmod(0o600)
        self.pins[label] = path
        return path

    def key_pair(self, token: str, label: str, key_type: str, key_id: str) -> None:
        """A key pair made by pkcs11-tool (`key_type` ec or rsa), with CKA_ID `key_id` (hex)."""
        pin = self.pins[token].read_text().strip()
        self.pkcs11_tool("--token-label", token, "--login", "--pin", pin, "--keypairgen",
                         "--key-type", PKCS11_TOOL_KEY_TYPES[key_type], "--label", label, "--id", key_id)

    def pkcs11_tool(self, *args: str) -> str:
        return self.run(["pkcs11-tool", "--module", str(self.module), *args]).stdout

    def run(self, argv: Sequence[str | os.PathLike[str]], cwd: Path | None = None, check: bool = True,
            input: str = "") -> subprocess.CompletedProcess[str]:
        """Run `argv` against the TPM, then flush what it left loaded (see the module docstring)."""
        try:
            return subprocess.run([str(a) for a in argv], cwd=cwd, env={**os.environ, **self.env}, input=input,
                                  capture_output=True, text=True, check=check, timeout=120)
        finally:
            self.flush()

    def flush(self) -> None:
        """Unload every transient object and session: what a resource manager would do at process exit."""
        for kind in ("-t", "-l"):
            subprocess.run(["tpm2_flushcontext", kind], env={**os.environ, **self.env}, check=True,
                           capture_output=True, timeout=30)


@contextlib.contextmanager
def running(work: Path) -> Iterator[Tpm]:
    """A swtpm under `work` with an empty tpm2-pkcs11 store; stopped on exit."""
    module = tpm2_pkcs11_module()
    if missing() or module is None:
        raise RuntimeError(f"not installed: {', '.join(missing())} (scripts/ensure-os-deps installs them)")
    state, store = work / "swtpm", work / "tpm2-pkcs11"
    state.mkdir(parents=True, exist_ok=True)
    store.mkdir(exist_ok=True)
    process, port = _start_swtpm(state)
    try:
        tcti = f"swtpm:host={LOCALHOST},port={port}"
        env = {"TPM2_PKCS11_TCTI": tcti, "TPM2TOOLS_TCTI": tcti, "TPM2_PKCS11_STORE": str(store),
               "COLDVAULT_PKCS11_MODULE": str(module)}
        tpm = Tpm(work, port, module, env)
        tpm.run(["tpm2_ptool", "init", "--path", store])
        yield tpm
    finally:
        process.terminate()
        try:
            process.wait(timeout=SWTPM_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_swtpm(state: Path) -> tuple[subprocess.Popen[bytes], int]:
    """swtpm listening on a free port P (commands) and P+1 (control); retried if another process takes them."""
    for _ in range(PORT_ATTEMPTS):
        port = _free_port_pair()
        log = (state / "swtpm.log").open("ab")
        process = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
             "--server", f"type=tcp,port={port},bindaddr={LOCALHOST}",
             "--ctrl", f"type=tcp,port={port + 1},bindaddr={LOCALHOST}",
             "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        log.close()
        if _wait_listening(process, port + 1):
            return process, port
        process.kill()
        process.wait()
    raise RuntimeError(f"swtpm did not start (see {state / 'swtpm.log'})")


def _free_port_pair() -> int:
    while True:
        with socket.socket() as first, socket.socket() as second:
            first.bind((LOCALHOST, 0))
            port = first.getsockname()[1]
            try:
                second.bind((LOCALHOST, port + 1))
            except OSError:
                continue
            return int(port)


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    """True once swtpm accepts connections on its control port; False if it exited or never did."""
    deadline = time.monotonic() + SWTPM_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex((LOCALHOST, port)) == 0:
                return True
        time.sleep(0.01)
    return False
