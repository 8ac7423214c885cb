// Bridge to slip39-js (ilap/slip39-js, an independent SLIP-39 implementation) for
// coldvault's interoperability tests: one JSON request on stdin, one JSON answer on stdout.
//   {"action": "split", "secret": HEX, "passphrase": STR, "group_threshold": N,
//    "groups": [[T, N], ...], "iteration_exponent": E, "extendable": BOOL}  -> {"groups": [[MNEMONIC, ...], ...]}
//   {"action": "combine", "mnemonics": [MNEMONIC, ...], "passphrase": STR}  -> {"secret": HEX}
"use strict";
const fs = require("fs");
const Slip39 = require("slip39");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const toBytes = (hex) => Array.from(Buffer.from(hex, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");

let answer;
if (request.action === "split") {
  const slip = Slip39.fromArray(toBytes(request.secret), {
    passphrase: request.passphrase,
    threshold: request.group_threshold,
    groups: request.groups,
    iterationExponent: request.iteration_exponent,
    extendableBackupFlag: request.extendable ? 1 : 0,
  });
  answer = { groups: request.groups.map((_, i) => slip.fromPath(`r/${i}`).mnemonics) };
} else if (request.action === "combine") {
  answer = { secret: toHex(Slip39.recoverSecret(request.mnemonics, request.passphrase)) };
} else {
  throw new Error(`unknown action ${request.action}`);
}
process.stdout.write(JSON.stringify(answer));
