"""The tool's signing keys: DATA/lti/keys/<created>-<kid>.pem (RSA 2048, mode 600).

The tool signs its client assertions (for AGS and NRPS tokens) and its deep-linking responses; the
platform checks them against the tool's JWKS (GET /lti/jwks). Rotation (`grader serve
--rotate-lti-key`) adds a key that is published at once but signs only after `announce_s` (platforms
cache the JWKS: a key they have not fetched yet would fail their check); the key it replaces stays
published until the next rotation, for tokens signed just before.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEYS_FOLDER = "keys"
ANNOUNCE_S = 3600.0


@dataclass(frozen=True)
class ToolKey:
    kid: str
    created: int
    private_pem: bytes

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


def _thumbprint(public: rsa.RSAPublicKey) -> str:
    """RFC 7638: the sha256 of the key's required members, in order, as the kid."""
    jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class ToolKeys:
    def __init__(self, folder: Path, announce_s: float = ANNOUNCE_S) -> None:
        self.folder = Path(folder) / KEYS_FOLDER
        self.announce_s = announce_s

    def _all(self) -> list[ToolKey]:
        keys = []
        for path in sorted(self.folder.glob("*.pem")):
            created, _, kid = path.stem.partition("-")
            if created.isdigit() and kid:
                keys.append(ToolKey(kid, int(created), path.read_bytes()))
        return sorted(keys, key=lambda key: key.created)

    def _new(self, now: float | None = None) -> ToolKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        key = ToolKey(_thumbprint(private.public_key()), int(now if now is not None else time.time()), pem)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key.created:010d}-{key.kid}.pem"
        path.touch(mode=0o600)
        path.write_bytes(pem)
        return key

    def ensure(self) -> None:
        """A first key, used at once (no platform knows this tool yet)."""
        if not self._all():
            self._new(now=time.time() - self.announce_s)

    def signing(self, now: float | None = None) -> ToolKey:
        self.ensure()
        keys = self._all()
        moment = time.time() if now is None else now
        ready = [key for key in keys if key.created <= moment - self.announce_s]
        return ready[-1] if ready else keys[0]

    def published(self, now: float | None = None) -> list[ToolKey]:
        """The signing key, the key it replaced, and any key announced for later."""
        self.ensure()
        keys = self._all()
        index = keys.index(self.signing(now))
        return keys[max(0, index - 1):]

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.published(now)]}

    def rotate(self, now: float | None = None) -> ToolKey:
        """Announce a new key; keys older than the one it will replace are deleted."""
        self.ensure()
        current = self.signing(now)
        for key in self._all():
            if key.created < current.created:
                (self.folder / f"{key.created:010d}-{key.kid}.pem").unlink(missing_ok=True)
        return self._new(now)
