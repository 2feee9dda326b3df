"""Key pairs of the terminal and the departments, public key files and encrypted private keys.

A key pair holds an Ed25519 key (signing) and an X25519 key (sealed exchange). Formats are in
docs/keys.md:

    .pub  versioned UTF-8 text: bulktool-public-key/1, name, ed25519, x25519 (base64), fingerprint
    .key  versioned UTF-8 text: bulktool-private-key/1, kdf scrypt parameters, salt, AES-256-GCM box

The fingerprint is SHA-256 over ed25519 (32 bytes) ‖ x25519 (32 bytes), its first 32 hex digits
in groups of 4, to compare with the paper 依頼書.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from bulktool.messages import BulkError

PUBLIC_FORMAT = "bulktool-public-key/1"
PRIVATE_FORMAT = "bulktool-private-key/1"
# scrypt for new key files and key slots: N=2**17 (128 MiB, ~0.4 s here), the usual minimum for
# interactive logins today. Key files and slots made by earlier versions with 2**15 still open.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
# A key file names its scrypt parameters; only these are accepted (a hostile file must not make
# us allocate gigabytes, nor weaken the KDF below today's default).
ACCEPTED_SCRYPT = {(2**15, 8, 1), (2**16, 8, 1), (2**17, 8, 1)}


def _raw_pub(key) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _raw_priv(key) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def fingerprint_of(ed25519_raw: bytes, x25519_raw: bytes) -> str:
    digest = hashlib.sha256(ed25519_raw + x25519_raw).hexdigest()[:32]
    return " ".join(digest[i:i + 4] for i in range(0, 32, 4))


@dataclass(frozen=True)
class PublicKeys:
    name: str
    ed25519: Ed25519PublicKey
    x25519: X25519PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(_raw_pub(self.ed25519), _raw_pub(self.x25519))


@dataclass(frozen=True)
class KeyPair:
    name: str
    ed25519: Ed25519PrivateKey = field(repr=False)
    x25519: X25519PrivateKey = field(repr=False)

    @property
    def public(self) -> PublicKeys:
        return PublicKeys(self.name, self.ed25519.public_key(), self.x25519.public_key())


def _check_key_name(name: str) -> str:
    if not name or len(name) > 200 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name) or name != name.strip():
        raise BulkError("E-KEY-005")
    return name


def generate(name: str) -> KeyPair:
    """A new key pair (Ed25519 for signing, X25519 for sealed exchange) from the OS's CSPRNG."""
    return KeyPair(_check_key_name(name), Ed25519PrivateKey.generate(), X25519PrivateKey.generate())


def format_public(pub: PublicKeys) -> bytes:
    """The .pub file (docs/keys.md): five UTF-8 lines, LF line ends."""
    lines = [PUBLIC_FORMAT, f"name: {_check_key_name(pub.name)}",
             f"ed25519: {base64.b64encode(_raw_pub(pub.ed25519)).decode()}",
             f"x25519: {base64.b64encode(_raw_pub(pub.x25519)).decode()}",
             f"fingerprint: {pub.fingerprint}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _fields(data: bytes, fmt: str, what: str, allowed: tuple[str, ...]) -> dict[str, str]:
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise BulkError("E-KEY-001", file=what, detail="UTF-8 ではありません") from None
    if not lines or lines[0].strip() != fmt:
        raise BulkError("E-KEY-001", file=what, detail=f"先頭行が {fmt} ではありません")
    out = {}
    for line in lines[1:]:
        if line.strip():
            k, sep, v = line.partition(":")
            k = k.strip()
            if not sep or k not in allowed or k in out:
                raise BulkError("E-KEY-001", file=what, detail="行の形式が不正です")
            out[k] = v.strip()
    return out


def _normal_fp(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def read_public(data: bytes) -> PublicKeys:
    """Parse a .pub file; the fingerprint line must match the keys (spaces and case aside).
    E-KEY-001 on any problem."""
    if len(data) > 4096:
        raise BulkError("E-KEY-001", file="公開鍵", detail="大きすぎます")
    f = _fields(data, PUBLIC_FORMAT, "公開鍵", ("name", "ed25519", "x25519", "fingerprint"))
    try:
        ed = base64.b64decode(f["ed25519"], validate=True)
        x = base64.b64decode(f["x25519"], validate=True)
        pub = PublicKeys(f["name"], Ed25519PublicKey.from_public_bytes(ed), X25519PublicKey.from_public_bytes(x))
    except (KeyError, ValueError):
        raise BulkError("E-KEY-001", file="公開鍵", detail="鍵の値が不正です") from None
    if _normal_fp(f.get("fingerprint")) != _normal_fp(pub.fingerprint):
        raise BulkError("E-KEY-001", file="公開鍵", detail="フィンガープリントが鍵と一致しません")
    return pub


def keypair_to_bytes(kp: KeyPair) -> bytes:
    """name (UTF-8, 2-byte length) ‖ ed25519 raw (32) ‖ x25519 raw (32)."""
    name = kp.name.encode("utf-8")
    return len(name).to_bytes(2, "big") + name + _raw_priv(kp.ed25519) + _raw_priv(kp.x25519)


def keypair_from_bytes(data: bytes) -> KeyPair:
    """Inverse of keypair_to_bytes; E-KEY-003 on a malformed blob."""
    try:
        n = int.from_bytes(data[:2], "big")
        name, rest = data[2:2 + n].decode("utf-8"), data[2 + n:]
        if len(data) < 2 + n or len(rest) != 64:
            raise ValueError
        return KeyPair(name, Ed25519PrivateKey.from_private_bytes(rest[:32]),
                       X25519PrivateKey.from_private_bytes(rest[32:]))
    except (ValueError, UnicodeDecodeError):
        raise BulkError("E-KEY-003", detail="鍵の形式が不正です") from None


def current_kdf() -> tuple[int, int, int]:
    """The scrypt parameters (n, r, p) new key files and key slots are made with."""
    return SCRYPT_N, SCRYPT_R, SCRYPT_P


def derive_key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    """The slow KDF: scrypt with one of the accepted parameter sets (current_kdf() for new keys) → 32 bytes."""
    if (n, r, p) not in ACCEPTED_SCRYPT or len(salt) < 16:
        raise ValueError("scrypt parameters outside the accepted set")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def encrypt_with_key(kek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under a 32-byte key: nonce (12, random) ‖ ciphertext ‖ tag (16)."""
    if len(kek) != 32:
        raise ValueError("a 32-byte key is required")
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, aad)


def decrypt_with_key(kek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Inverse of encrypt_with_key; E-KEY-002 when the key, the AAD or the blob is wrong."""
    if len(kek) != 32 or len(blob) < 12 + 16:
        raise BulkError("E-KEY-002")
    try:
        return AESGCM(kek).decrypt(blob[:12], blob[12:], aad)
    except InvalidTag:
        raise BulkError("E-KEY-002") from None


def seal_private(kp: KeyPair, passphrase: bytes) -> bytes:
    """The department's .key file: the key pair under scrypt(passphrase) + AES-256-GCM."""
    if not passphrase:
        raise BulkError("E-KEY-006")
    salt, nonce = os.urandom(16), os.urandom(12)
    n, r, p = current_kdf()
    box = AESGCM(derive_key(passphrase, salt, n, r, p)).encrypt(nonce, keypair_to_bytes(kp), PRIVATE_FORMAT.encode())
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    lines = [PRIVATE_FORMAT, f"name: {kp.name}", f"kdf: scrypt n={n} r={r} p={p}",
             f"salt: {b64(salt)}", f"nonce: {b64(nonce)}", f"box: {b64(box)}",
             f"fingerprint: {kp.public.fingerprint}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def open_private(data: bytes, passphrase: bytes) -> KeyPair:
    """Parse and decrypt a .key file. E-KEY-002 on a wrong passphrase or a changed box,
    E-KEY-001 when the file is not a key file at all."""
    if len(data) > 4096:
        raise BulkError("E-KEY-001", file="秘密鍵", detail="大きすぎます")
    f = _fields(data, PRIVATE_FORMAT, "秘密鍵", ("name", "kdf", "salt", "nonce", "box", "fingerprint"))
    try:
        kdf = f["kdf"].split()
        if kdf[0] != "scrypt":
            raise ValueError
        params = dict(item.split("=", 1) for item in kdf[1:])
        salt = base64.b64decode(f["salt"], validate=True)
        nonce = base64.b64decode(f["nonce"], validate=True)
        box = base64.b64decode(f["box"], validate=True)
        key = derive_key(passphrase, salt, int(params["n"]), int(params["r"]), int(params["p"]))
    except (KeyError, ValueError, IndexError):
        raise BulkError("E-KEY-001", file="秘密鍵", detail="形式が不正です") from None
    try:
        plain = AESGCM(key).decrypt(nonce, box, PRIVATE_FORMAT.encode())
        kp = keypair_from_bytes(plain)
    except (InvalidTag, ValueError, BulkError):
        raise BulkError("E-KEY-002") from None
    if _normal_fp(f.get("fingerprint")) != _normal_fp(kp.public.fingerprint):
        raise BulkError("E-KEY-002")
    return kp
