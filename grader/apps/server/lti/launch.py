"""An LTI 1.3 launch, checked: the id_token a platform posts to /lti/launch, and what it says.

PyJWT checks the signature (RS256 only, against the platform's JWKS, fetched and cached by
PyJWKClient, refetched for a kid it has not seen: the platform rotated its keys), `exp`, `iat`,
`iss` and `aud`. Here, on top: the OIDC state is one this tool issued, unexpired and never used
before (a replayed id_token finds its state used), the nonce is the one issued with that state, `azp`
where there are several audiences, a registered deployment, LTI 1.3.0, and the claims each message
type needs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from grader.apps.server.lti.platforms import Platform, Platforms
from grader.apps.server.lti.records import LtiRecords

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
LEEWAY_S = 60  # clock skew between the platform and this machine
STAFF_ROLES = ("Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant")
MESSAGE_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
PLAIN_SUB = re.compile(r"^[\w.\-]{1,96}$")


class LaunchRefused(Exception):
    """Why a launch is refused, for the person in the browser (and the log)."""


@dataclass(frozen=True)
class Launch:
    platform: Platform
    message_type: str
    deployment_id: str
    sub: str
    name: str
    instructor: bool
    assignment: str | None  # the custom parameter `assignment`, or `?assignment=` of the target link
    context_id: str
    resource_link_id: str
    ags: dict[str, Any] | None
    nrps_url: str | None
    deep_link_return_url: str | None
    deep_link_data: str | None
    locale: str  # the platform's language for this user (ja-JP, en): the pages' language

    @property
    def student_id(self) -> str:
        return student_id_of(self.platform, self.sub)


def student_id_of(platform: Platform, sub: str) -> str:
    """The service's student id of a platform's user: `<sub>@<platform name>` (Moodle: `2@moodle`),
    or a digest of the sub where it holds characters a student id may not (or is long)."""
    plain = sub if PLAIN_SUB.match(sub) else "u" + hashlib.sha256(sub.encode("utf-8")).hexdigest()[:20]
    return f"{plain}@{platform.name}"


class LaunchChecker:
    def __init__(self, platforms: Platforms, records: LtiRecords) -> None:
        self.platforms = platforms
        self.records = records
        self._key_sets: dict[str, jwt.PyJWKClient] = {}

    def _key_for(self, platform: Platform, token: str) -> Any:
        client = self._key_sets.setdefault(str(platform.key_set_url),
                                           jwt.PyJWKClient(str(platform.key_set_url), cache_keys=True, lifespan=300,
                                                           timeout=10))
        try:
            if jwt.get_unverified_header(token).get("kid") is None:
                keys = client.get_signing_keys()
                if len(keys) != 1:
                    raise LaunchRefused("the id_token names no key (kid) and the platform publishes several")
                return keys[0].key
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise LaunchRefused(f"the platform's signing key could not be found: {exc}") from None

    def check(self, id_token: str, state: str, state_cookie: str | None) -> Launch:
        if not id_token or not state:
            raise LaunchRefused("the launch has no id_token or no state")
        pending = self.records.pending_state(state)
        if pending is None:
            raise LaunchRefused("the login state is unknown, expired or already used (a launch is used once: "
                                "open the activity again from the course)")
        if state_cookie is not None and state_cookie != state:
            raise LaunchRefused("the login state is not this browser's")
        nonce, issuer, client_id = pending
        platform = self.platforms.find(issuer, client_id)
        if platform is None:
            raise LaunchRefused(f"the platform {issuer!r} is no longer registered")
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, self._key_for(platform, id_token), algorithms=["RS256"], audience=platform.client_id,
                issuer=platform.issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]})
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(f"the id_token is not valid: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != platform.client_id:
            raise LaunchRefused("the id_token has several audiences and its azp is not this tool")
        if claims["nonce"] != nonce:
            raise LaunchRefused("the id_token's nonce is not the one issued with this login")
        launch = self._read(platform, claims)
        if not self.records.use_state(state):  # last: a refused launch does not burn the state
            raise LaunchRefused("this launch was already used (a launch is used once: open the activity again)")
        return launch

    def _read(self, platform: Platform, claims: dict[str, Any]) -> Launch:
        deployment = claims.get(CLAIM + "deployment_id")
        if deployment not in platform.deployment_ids:
            raise LaunchRefused(f"the deployment {deployment!r} is not registered for {platform.name}")
        if claims.get(CLAIM + "version") != "1.3.0":
            raise LaunchRefused("not an LTI 1.3.0 launch")
        message_type = claims.get(CLAIM + "message_type")
        if message_type not in MESSAGE_TYPES:
            raise LaunchRefused(f"this tool does not take {message_type!r} messages")
        roles = claims.get(CLAIM + "roles")
        if not isinstance(roles, list):
            raise LaunchRefused("the launch has no roles")
        context = claims.get(CLAIM + "context") or {}
        link = claims.get(CLAIM + "resource_link") or {}
        settings = claims.get(DL_CLAIM) or {}
        if message_type == "LtiResourceLinkRequest" and not link.get("id"):
            raise LaunchRefused("a resource link launch without a resource link id")
        if message_type == "LtiDeepLinkingRequest" and not settings.get("deep_link_return_url"):
            raise LaunchRefused("a deep linking request without a return URL")
        custom = claims.get(CLAIM + "custom") or {}
        target = parse_qs(urlsplit(str(claims.get(CLAIM + "target_link_uri", ""))).query).get("assignment", [None])[0]
        ags = claims.get(AGS_CLAIM)
        nrps = claims.get(NRPS_CLAIM) or {}
        return Launch(
            platform=platform, message_type=message_type, deployment_id=deployment, sub=str(claims["sub"]),
            name=str(claims.get("name") or claims.get("given_name") or claims["sub"]),
            instructor=any(_is_staff(role) for role in roles if isinstance(role, str)),
            assignment=(custom.get("assignment") if isinstance(custom, dict) else None) or target,
            context_id=str(context.get("id", "")), resource_link_id=str(link.get("id", "")),
            ags=ags if isinstance(ags, dict) else None,
            nrps_url=nrps.get("context_memberships_url") if isinstance(nrps, dict) else None,
            deep_link_return_url=settings.get("deep_link_return_url"), deep_link_data=settings.get("data"),
            locale=str(claims.get(CLAIM + "launch_presentation", {}).get("locale") or claims.get("locale") or ""))


def _is_staff(role: str) -> bool:
    """A context role of the course's staff: `...lis/v2/membership#Instructor`, a sub-role such as
    `...membership/Instructor#TeachingAssistant`, or the bare name LTI allows."""
    if role in STAFF_ROLES:
        return True
    if not role.startswith("http://purl.imsglobal.org/vocab/lis/v2/membership"):
        return False
    return role.rsplit("#", 1)[-1] in STAFF_ROLES
