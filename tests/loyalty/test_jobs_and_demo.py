"""`memberpos jobs`: points expiry with warnings ahead, packages expiry, tier review, all —
each idempotent; and the demo program, created once."""

from __future__ import annotations

import datetime as dt

from loyalty import cli, jobs, points
from loyalty.demo import create_demo_loyalty
from loyalty.points import Source
from loyalty.program import load_program
from loyalty.tables import EarningRule, ExpiryWarning, PointsEntry, TopUpRule
from loyalty.verify import check_packages, check_points
from memberpos.cli import build_parser
from members.tables import Outbox

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


async def test_expiry_job_warns_ahead_once_then_expires_once(chain, member_id, capsys):
    sh001 = chain["stores"]["SH001"]["id"]
    await points.earn(
        member_id,
        120,
        Source("sale", "S1", sh001),
        at=T0,
        available_from=T0,
        expires_on=dt.date(2026, 6, 30),
    )
    await points.earn(
        member_id,
        80,
        Source("sale", "S2", sh001),
        at=T0,
        available_from=T0,
        expires_on=dt.date(2027, 12, 31),
    )
    # 40 days ahead: nothing to warn yet (30-day window)
    assert await jobs.warn_expiring(as_of=dt.date(2026, 5, 21)) == 0
    for _ in range(2):
        await cli.run_jobs(["expiry"], dt.date(2026, 6, 5))
    messages = (
        await Outbox.select()
        .where(Outbox.template == jobs.EXPIRY_WARNING_TEMPLATE)
        .output(load_json=True)
    )
    assert len(messages) == 1 and await ExpiryWarning.count() == 1
    assert messages[0]["recipient"] == "+8613812340000"
    assert messages[0]["payload"]["points"] == 120
    assert "120积分" in messages[0]["payload"]["text_zh"]
    for _ in range(2):
        await cli.run_jobs(["expiry"], dt.date(2026, 7, 1))
    assert "120 points expired" in capsys.readouterr().out
    assert await PointsEntry.count().where(PointsEntry.kind == "expire") == 1
    assert (await points.points_summary(member_id, at=T0))["balance"] == 80
    assert await check_points() == []


async def test_all_jobs_run_twice_and_the_parser_knows_them(chain, member_id, capsys):
    args = build_parser().parse_args(["jobs", "expiry", "--as-of", "2026-07-01"])
    assert args.as_of == dt.date(2026, 7, 1) and callable(args.run)
    assert callable(build_parser().parse_args(["jobs", "all"]).run)
    for _ in range(2):
        assert await cli.run_jobs(list(cli.JOBS), dt.date(2026, 7, 1)) == 0
    out = capsys.readouterr().out
    assert "tier review" in out and "packages expiry: 0" in out
    assert await check_packages() == []


async def test_demo_loyalty_is_created_once(chain):
    first = await create_demo_loyalty()
    second = await create_demo_loyalty()
    assert "created now" in first and "(0 created now)" in second
    program = await load_program()
    assert (program.points_per_unit, program.pending_days, program.max_redeem_share_bp) == (
        1,
        7,
        5_000,
    )
    assert await TopUpRule.count() == 3
    # the small chain has no skin care or gold: only rules whose target exists
    assert {row["code"] for row in await EarningRule.select(EarningRule.code)} == {"HEFENG3X"}
