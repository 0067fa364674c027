"""Keys: who sends a transaction, and the one place where framemesh signs.

A `Signer` is an address plus, for a real account, its private key held in process.
Two kinds exist:

- **keystore accounts** (`load_keystore`, `create_keystore`): an encrypted keystore
  JSON file (Web3 Secret Storage, as geth/eth-account write it).  Transactions are
  signed locally and sent raw, so the key never leaves the process.  `repr`/`str`
  show the address only; the key is not an attribute of the object.
- **dev accounts** (`Chain.accounts`): accounts unlocked on a dev chain's node
  (embedded, served or not, or chain id 31337/1337); the node signs.  `Chain` refuses them anywhere
  else.

Passwords come from an argument, an environment variable (`FRAMEMESH_KEYSTORE_PASSWORD`
by default) or a file, in that order.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Literal

import coincurve
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from .errors import KeystoreError

#: the embedded chain's id (eth-tester's py-evm chain), in process or served by `framemesh chain serve`
EMBEDDED_CHAIN_ID = 131277322940537

#: chain ids of local dev chains (anvil/hardhat: 31337; ganache/geth --dev: 1337; the embedded chain)
DEV_CHAIN_IDS = frozenset({31337, 1337, EMBEDDED_CHAIN_ID})

PASSWORD_ENV = "FRAMEMESH_KEYSTORE_PASSWORD"

_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n32"


class Signer:
    """An account that can send transactions: `address`, and a key if it is local.

    The private key stays in a private slot: repr and str show the address only and
    pickling is refused; use `sign_transaction` / `sign_digest`.
    """

    __slots__ = ("_curve_key", "_local", "address")

    def __init__(self, address: str, local: LocalAccount | None = None) -> None:
        self.address: ChecksumAddress = to_checksum_address(address)
        self._local = local
        # libsecp256k1 directly: ticket signing is hot (thousands a second), and going
        # through eth-account costs about ten times as much per signature.
        self._curve_key = coincurve.PrivateKey(bytes(local.key)) if local is not None else None

    @classmethod
    def from_key(cls, private_key: bytes | str) -> Signer:
        """A local signer from a raw private key (tests and key import only)."""
        try:
            local = Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise KeystoreError("not a valid private key") from exc
        return cls(local.address, local)

    @classmethod
    def dev(cls, address: str) -> Signer:
        """A node-unlocked dev account: the chain's node signs for it."""
        return cls(address, None)

    @property
    def is_local(self) -> bool:
        """True when this process holds the key (sign locally, send raw)."""
        return self._local is not None

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """Sign a filled transaction dict; returns the raw signed transaction."""
        return self._key().sign_transaction(tx).raw_transaction

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as an Ethereum personal message (EIP-191), as
        Livepeer's ticket sender does over a ticket hash: 65 bytes ``r ++ s ++ v``,
        ``v`` in {27, 28}, low ``s`` (what ``ecrecover`` in the contracts accepts)."""
        if len(digest) != 32:
            raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
        self._key()
        assert self._curve_key is not None
        raw = self._curve_key.sign_recoverable(keccak(_PERSONAL_PREFIX + digest), hasher=None)
        return raw[:64] + bytes([raw[64] + 27])

    def encrypt(
        self, password: str, *, kdf: Literal["pbkdf2", "scrypt"] | None = None, iterations: int | None = None
    ) -> dict[str, Any]:
        """The keystore JSON for this account, encrypted with `password`.

        The default KDF is eth-account's (scrypt, about a second to open); `kdf` /
        `iterations` weaken it for tests only.
        """
        return dict(Account.encrypt(self._key().key, password, kdf=kdf, iterations=iterations))

    def _key(self) -> LocalAccount:
        if self._local is None:
            raise KeystoreError(f"{self.address} is a dev account signed by the node; it has no local key")
        return self._local

    def __repr__(self) -> str:
        kind = "local key" if self.is_local else "dev account"
        return f"Signer({self.address}, {kind})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signer) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    def __reduce__(self) -> Any:
        raise TypeError("a Signer cannot be pickled (it may hold a private key)")


def create_keystore(
    path: str | os.PathLike[str],
    password: str,
    *,
    overwrite: bool = False,
    kdf: Literal["pbkdf2", "scrypt"] | None = None,
    iterations: int | None = None,
) -> Signer:
    """Create a new random account and write its encrypted keystore to `path` (mode 0600)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeystoreError(f"{target} already exists; refusing to overwrite a keystore")
    if not password:
        raise KeystoreError("a keystore password must not be empty")
    signer = Signer.from_key(Account.create().key)
    data = signer.encrypt(password, kdf=kdf, iterations=iterations)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    return signer


def load_keystore(
    path: str | os.PathLike[str],
    password: str | None = None,
    *,
    password_env: str = PASSWORD_ENV,
    password_file: str | os.PathLike[str] | None = None,
) -> Signer:
    """Open an encrypted keystore.  The password is `password`, else the environment
    variable `password_env`, else the first line of `password_file`."""
    source = Path(path)
    try:
        data = json.loads(source.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"no keystore file at {source}") from None
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"{source} is not a readable keystore JSON file ({type(exc).__name__})") from None
    secret = _password(password, password_env, password_file)
    try:
        key = Account.decrypt(data, secret)
    except ValueError as exc:
        wrong = "MAC mismatch" in str(exc)
        why = "wrong password" if wrong else "malformed keystore"
        raise KeystoreError(f"cannot open keystore {source}: {why}") from None
    except (KeyError, TypeError):
        raise KeystoreError(f"cannot open keystore {source}: malformed keystore") from None
    return Signer.from_key(key)


def _password(password: str | None, env: str, file: str | os.PathLike[str] | None) -> str:
    if password is not None:
        return password
    if os.environ.get(env):
        return os.environ[env]
    if file is not None:
        try:
            return Path(file).read_text().splitlines()[0] if Path(file).read_text() else ""
        except OSError as exc:
            raise KeystoreError(f"cannot read password file {file} ({type(exc).__name__})") from None
    raise KeystoreError(f"no keystore password: pass one, set ${env}, or give a password file")
