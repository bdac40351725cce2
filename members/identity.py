"""Who is calling ``/api/v1/me``: the signed-in member, as every domain's self-service
handlers receive it (``member: NamedDependency[MemberIdentity]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemberIdentity:
    member_id: int
    session_id: int
    method: str  # pin | code
