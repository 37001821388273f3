"""The platform's services, called by the tool: OAuth 2 tokens, Assignment and Grade Services, and
Names and Role Provisioning.

A token is asked for with a client assertion (a JWT signed with the tool's key, RFC 7523, as the
1EdTech security framework says) and kept until shortly before it expires.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt

from grader.apps.server.lti.keys import ToolKeys
from grader.apps.server.lti.platforms import Platform

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
MEMBERSHIP_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
TIMEOUT_S = 15.0
MAX_MEMBER_PAGES = 50


class ServiceError(Exception):
    """The platform did not do what was asked (down, refused, or answered nonsense)."""


class PlatformServices:
    def __init__(self, keys: ToolKeys) -> None:
        self.keys = keys
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _token(self, platform: Platform, scopes: list[str]) -> str:
        scope = " ".join(sorted(scopes))
        cache_key = (platform.issuer, platform.client_id, scope)
        with self._lock:
            cached = self._tokens.get(cache_key)
        if cached is not None and cached[1] > time.time() + 30:
            return cached[0]
        key = self.keys.signing()
        now = int(time.time())
        assertion = jwt.encode({"iss": platform.client_id, "sub": platform.client_id, "aud": platform.audience(),
                                "iat": now, "exp": now + 300, "jti": secrets.token_urlsafe(16)},
                               key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        answer = self._call("POST", str(platform.auth_token_url), data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": scope})
        body = _json(answer)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ServiceError(f"the token endpoint answered no access_token: {answer.text[:200]}")
        expires_in = body.get("expires_in", 3600)
        with self._lock:
            self._tokens[cache_key] = (token, time.time() + (expires_in if isinstance(expires_in, int | float) else 3600))
        return token

    @staticmethod
    def _call(method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            answer = httpx.request(method, url, headers=headers, timeout=TIMEOUT_S, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if answer.status_code >= 400:
            raise ServiceError(f"{method} {url}: {answer.status_code} {answer.text[:200]}")
        return answer

    # -- Assignment and Grade Services ---------------------------------------------------------
    def post_score(self, platform: Platform, lineitem: str, score: dict[str, Any]) -> None:
        token = self._token(platform, [SCORE_SCOPE])
        self._call("POST", _subpath(lineitem, "scores"), token=token, json=score,
                   headers={"Content-Type": SCORE_TYPE})

    def lineitem_for(self, platform: Platform, lineitems: str, resource_link_id: str, label: str,
                     score_maximum: float, resource_id: str) -> str:
        """The line item of a resource link that launched without one: found among the context's
        line items, or made (the tool may make them where the platform grants the lineitem scope)."""
        token = self._token(platform, [LINEITEM_SCOPE])
        found = _json(self._call("GET", lineitems, token=token, params={"resource_link_id": resource_link_id},
                                 headers={"Accept": LINEITEMS_TYPE}))
        items = found if isinstance(found, list) else found.get("lineItems", found.get("content", []))
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("resourceLinkId") == resource_link_id and item.get("id"):
                return str(item["id"])
        made = _json(self._call("POST", lineitems, token=token, headers={"Content-Type": LINEITEM_TYPE},
                                json={"scoreMaximum": score_maximum, "label": label, "resourceId": resource_id,
                                      "resourceLinkId": resource_link_id}))
        if not isinstance(made, dict) or not made.get("id"):
            raise ServiceError("the platform made a line item but did not say its id")
        return str(made["id"])

    # -- Names and Role Provisioning -----------------------------------------------------------
    def members(self, platform: Platform, memberships_url: str) -> list[dict[str, Any]]:
        token = self._token(platform, [MEMBERSHIP_SCOPE])
        members: list[dict[str, Any]] = []
        url: str | None = memberships_url
        for _ in range(MAX_MEMBER_PAGES):
            if url is None:
                break
            answer = self._call("GET", url, token=token, headers={"Accept": MEMBERS_TYPE})
            body = _json(answer)
            members.extend(m for m in body.get("members", []) if isinstance(m, dict))
            url = answer.links.get("next", {}).get("url") or body.get("next")
        return members


def _subpath(url: str, tail: str) -> str:
    """`tail` appended to the path of `url`, its query kept (AGS: the scores of a line item)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + tail))


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise ServiceError(f"{answer.request.method} {answer.request.url}: not JSON: {answer.text[:200]}") from None
