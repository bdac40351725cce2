"""The nightly jobs of the ledgers: points expiry (per store time zone) with warnings to members
ahead of it, package expiry, and the tier review (members.tiers). Each is idempotent: running
it twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Sum

from loyalty import packages
from loyalty.points import expire_lots
from loyalty.program import load_program
from loyalty.tables import ExpiryWarning, PointsLot
from memberpos.clock import business_date, utc_now
from memberpos.db import transaction
from memberpos.settings import get_settings
from members.phones import mask
from members.tables import Outbox
from stores.tables import Store

EXPIRY_WARNING_TEMPLATE = "points_expiry_warning"


async def _zones() -> dict[str, list[int | None]]:
    """Store ids by time zone; lots without a store go with the chain's zone."""
    zones: dict[str, list[int | None]] = {get_settings().time_zone: [None]}
    for row in await Store.select(Store.id, Store.time_zone):
        zones.setdefault(row["time_zone"], []).append(row["id"])
    return zones


async def expire_points(*, at: dt.datetime | None = None, as_of: dt.date | None = None) -> int:
    """Expires every lot whose last day has passed in its store's zone: at ``at`` (now), each
    zone's business date; ``as_of`` forces one business date for every zone. Returns the
    points expired."""
    at = at or utc_now()
    total = 0
    for zone, store_ids in sorted((await _zones()).items()):
        day = as_of or business_date(at, zone)
        total += await expire_lots(day, at=at, store_ids=store_ids, label=zone)
    return total


async def warn_expiring(
    *, at: dt.datetime | None = None, days: int | None = None, as_of: dt.date | None = None
) -> int:
    """Writes one outbox message per member and expiry date for points expiring within
    ``days`` (program setting ``expiry_warning_days``): "N points expire on D". A member is
    warned once per date (``ExpiryWarning`` is unique by account and date)."""
    at = at or utc_now()
    if days is None:
        days = (await load_program()).expiry_warning_days
    if days <= 0:
        return 0
    today = as_of or business_date(at, get_settings().time_zone)
    horizon = today + dt.timedelta(days=days)
    due = (
        await PointsLot.select(
            PointsLot.account,
            PointsLot.account.member.as_alias("member"),
            PointsLot.account.member.phone.as_alias("phone"),
            PointsLot.expires_on,
            Sum(PointsLot.remaining).as_alias("points"),
        )
        .where(
            (PointsLot.remaining > 0)
            & (PointsLot.expires_on >= today)
            & (PointsLot.expires_on <= horizon)
            & (PointsLot.account.debt == 0)
            # never a message to a cancelled, merged or erased member
            & (PointsLot.account.member.status == "active")
        )
        .group_by(
            PointsLot.account,
            PointsLot.account.member,
            PointsLot.account.member.phone,
            PointsLot.expires_on,
        )
    )
    sent = 0
    for row in due:
        if not row["points"]:
            continue
        async with transaction():
            inserted = (
                await ExpiryWarning.insert(
                    ExpiryWarning(
                        account=row["account"],
                        expires_on=row["expires_on"],
                        points=int(row["points"]),
                        created_at=at,
                    )
                )
                .on_conflict(
                    target=(ExpiryWarning.account, ExpiryWarning.expires_on), action="DO NOTHING"
                )
                .returning(ExpiryWarning.id)
                .run()
            )
            if not inserted:
                continue
            # A service message about the member's own account, not marketing: sent by SMS
            # to the phone on file whatever the marketing consents say.
            await Outbox.insert(
                Outbox(
                    member=row["member"],
                    channel="sms",
                    recipient=row["phone"],
                    template=EXPIRY_WARNING_TEMPLATE,
                    payload={
                        "points": int(row["points"]),
                        "expires_on": row["expires_on"].isoformat(),
                        "phone_masked": mask(row["phone"]),
                        "text_zh": f"您有{int(row['points'])}积分将于"
                        f"{row['expires_on'].isoformat()}到期，请及时使用。",
                    },
                    created_at=at,
                )
            ).run()
            sent += 1
    return sent


async def expire_packages(*, at: dt.datetime | None = None) -> int:
    return await packages.expire_packages(at=at)


async def review_tiers(as_of: dt.date | None = None) -> list[Any]:
    from members.tiers import review_tiers as members_review_tiers

    return list(await members_review_tiers(as_of))


@dataclass(frozen=True)
class JobsReport:
    points_expired: int = 0
    warnings: int = 0
    packages_expired: int = 0
    tier_changes: int = 0
