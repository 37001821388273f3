"""The LTI tool's parts, opened together on the service's data folder (DATA/lti/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.apps.server.lti.keys import ANNOUNCE_S, ToolKeys
from grader.apps.server.lti.launch import LaunchChecker
from grader.apps.server.lti.passback import RETRY_BASE_S, RETRY_MAX_S, Passback
from grader.apps.server.lti.platforms import Platforms
from grader.apps.server.lti.records import LtiRecords
from grader.apps.server.lti.services import PlatformServices
from grader.spec import LoadedAssignment

LTI_FOLDER = "lti"


@dataclass(frozen=True)
class LtiSettings:
    public_url: str | None = None  # the service's address as the platform sees it; None: the request's
    retry_base_s: float = RETRY_BASE_S
    retry_max_s: float = RETRY_MAX_S
    announce_s: float = ANNOUNCE_S


@dataclass(frozen=True)
class LtiTool:
    platforms: Platforms
    records: LtiRecords
    keys: ToolKeys
    checker: LaunchChecker
    services: PlatformServices
    passback: Passback
    settings: LtiSettings

    @classmethod
    def open(cls, data: Path, assignments: dict[str, LoadedAssignment], settings: LtiSettings) -> LtiTool:
        folder = Path(data) / LTI_FOLDER
        platforms = Platforms(folder)
        records = LtiRecords(folder)
        keys = ToolKeys(folder, settings.announce_s)
        keys.ensure()
        services = PlatformServices(keys)
        passback = Passback(records, platforms, services, assignments, settings.retry_base_s, settings.retry_max_s)
        return cls(platforms, records, keys, LaunchChecker(platforms, records), services, passback, settings)

    def start(self) -> None:
        self.passback.start()

    def close(self) -> None:
        self.passback.stop()
        self.records.close()
