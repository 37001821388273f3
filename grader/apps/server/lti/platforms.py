"""The LMS platforms this tool trusts: DATA/lti/platforms.json, written by `grader serve --register-lti`.

One entry per registration (an issuer and the client id the platform gave this tool): where the
platform's OIDC authorisation endpoint, token endpoint and public keys are, and the deployment ids
it may launch from. A launch from anything not registered here is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from pydantic import BaseModel, Field, HttpUrl, ValidationError

log = logging.getLogger("grader.server.lti")
PLATFORMS_FILE = "platforms.json"
PLATFORM_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]{0,31}$")


class PlatformError(Exception):
    pass


class Platform(BaseModel):
    name: str = Field(description="a short name of this tool's own (moodle, canvas): it ends the LTI students' ids",
                      pattern=PLATFORM_NAME.pattern)
    issuer: str = Field(min_length=1, description="the platform's `iss`, e.g. https://moodle.example.edu")
    client_id: str = Field(min_length=1, description="the client id the platform gave this tool")
    deployment_ids: list[str] = Field(min_length=1, description="the deployments that may launch this tool")
    auth_login_url: HttpUrl = Field(description="the platform's OIDC authorisation endpoint")
    auth_token_url: HttpUrl = Field(description="the platform's OAuth 2 token endpoint (for AGS and NRPS)")
    key_set_url: HttpUrl = Field(description="the platform's public keys (JWKS)")
    # The token endpoint's audience in the client assertion; most platforms take the token URL itself.
    token_audience: str | None = None

    def audience(self) -> str:
        return self.token_audience or str(self.auth_token_url)


class Platforms:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / PLATFORMS_FILE
        self._seen: int | None = None
        self._entries = self._read()

    def _stamp(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _fresh(self) -> list[Platform]:
        """The registrations, read again where the file changed (a platform registered while the
        service runs is served without a restart; a file broken meanwhile keeps the last good one)."""
        if self._stamp() != self._seen:
            try:
                self._entries = self._read()
            except PlatformError as exc:
                log.error("%s", exc)
        return self._entries

    def _read(self) -> list[Platform]:
        self._seen = self._stamp()
        if self._seen is None:
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Platform.model_validate(entry) for entry in raw.get("platforms", [])]
        except (ValueError, AttributeError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise PlatformError(f"{self.path}: not a platform registry ({detail}); fix it or register again") from None

    def all(self) -> list[Platform]:
        return list(self._fresh())

    def find(self, issuer: str, client_id: str | None) -> Platform | None:
        """The registration of this issuer (and client id, where the platform says which: one issuer
        may have registered the tool twice)."""
        candidates = [p for p in self._fresh() if p.issuer == issuer and (client_id is None or p.client_id == client_id)]
        return candidates[0] if len(candidates) == 1 else None

    def add(self, platform: Platform) -> None:
        """Add or replace (same issuer and client id) a registration, and write the file."""
        if any(p.name == platform.name and (p.issuer, p.client_id) != (platform.issuer, platform.client_id)
               for p in self._entries):
            raise PlatformError(f"the name {platform.name!r} is taken by another registration")
        self._entries = [p for p in self._entries if (p.issuer, p.client_id) != (platform.issuer, platform.client_id)]
        self._entries.append(platform)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"platforms": [p.model_dump(mode="json") for p in self._entries]}, indent=2, ensure_ascii=False)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
