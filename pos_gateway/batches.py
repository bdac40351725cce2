"""Offline upload: a terminal that lost the network kept selling (cash and bank card; points
are earned at upload) and queued its operations. ``POST /api/v1/pos/batches`` applies them in
order, each exactly once by its own transaction id (a batch sent twice changes nothing),
each priced with the rules valid at its own time, and answers item by item. An item that can
no longer be honoured is refused with its reason and listed for a manager
(``OfflineRejection``), never booked silently; the items after it still apply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec

from memberpos.clock import utc_now
from memberpos.errors import DomainError
from pos_gateway import schemas
from pos_gateway.counter import post_top_up
from pos_gateway.errors import BatchItemInvalid
from pos_gateway.idempotency import Answer
from pos_gateway.refunds import post_refund
from pos_gateway.sales import post_sale
from pos_gateway.tables import OfflineRejection
from stores.terminals import TerminalIdentity

_KINDS: dict[str, tuple[type[msgspec.Struct], Callable[..., Awaitable[Answer]]]] = {
    "sale": (schemas.SaleIn, partial(post_sale, via_batch=True)),
    "refund": (schemas.RefundIn, post_refund),
    "top_up": (schemas.TopUpIn, post_top_up),
}


def _parse(kind: str, body: dict[str, Any]) -> msgspec.Struct:
    struct, _ = _KINDS[kind]
    try:
        return msgspec.convert(body, struct, strict=False)
    except msgspec.ValidationError as error:
        raise BatchItemInvalid(str(error)) from None


async def post_batch(terminal: TerminalIdentity, batch: schemas.BatchIn) -> schemas.BatchOut:
    items: list[schemas.BatchItemOut] = []
    counts = {"applied": 0, "replayed": 0, "rejected": 0}
    for index, item in enumerate(batch.items):
        txn_id = item.body.get("client_txn_id") if isinstance(item.body, dict) else None
        try:
            request = _parse(item.kind, item.body)
            answer = await _KINDS[item.kind][1](terminal, request)
        except DomainError as error:
            counts["rejected"] += 1
            await _record_rejection(terminal, batch.batch_id, index, item, txn_id, error)
            items.append(
                schemas.BatchItemOut(
                    index=index,
                    kind=item.kind,
                    client_txn_id=txn_id,
                    outcome="rejected",
                    status=error.status,
                    error={
                        "code": error.code,
                        "title": error.title,
                        "detail": error.detail,
                        "field": error.field,
                    },
                )
            )
            continue
        outcome = "replayed" if answer.replayed else "applied"
        counts[outcome] += 1
        items.append(
            schemas.BatchItemOut(
                index=index,
                kind=item.kind,
                client_txn_id=txn_id,
                outcome=outcome,
                status=answer.status_code,
                answer=msgspec.json.decode(answer.body),
            )
        )
    return schemas.BatchOut(batch_id=batch.batch_id, items=items, **counts)


async def _record_rejection(
    terminal: TerminalIdentity,
    batch_id: str,
    index: int,
    item: schemas.BatchItemIn,
    txn_id: str | None,
    error: DomainError,
) -> None:
    """Once per (terminal, transaction id): a batch uploaded again lists nothing twice."""
    if txn_id and await OfflineRejection.exists().where(
        (OfflineRejection.terminal == terminal.terminal_id)
        & (OfflineRejection.client_txn_id == str(txn_id))
        & (OfflineRejection.code == error.code)
    ):
        return
    body = {k: v for k, v in item.body.items() if k not in ("payment_pin", "manager")}
    await OfflineRejection.insert(
        OfflineRejection(
            terminal=terminal.terminal_id,
            store=terminal.store_id,
            batch_id=batch_id,
            item_index=index,
            kind=item.kind,
            client_txn_id=str(txn_id)[:64] if txn_id else None,
            code=error.code,
            detail=error.detail,
            body=body,
            created_at=utc_now(),
        )
    )
