"""Batched warm-up before a sync: many people's reads in a few HTTP requests.

Before a sync, each person's next read is known in part: an incremental read with the sync
token their last read kept (in the vault), and, at most daily, their time-zone setting.
Those calls go out as HTTP batches of up to :data:`BATCH_SIZE` calls, each part with that
person's own bearer token (made ready first and kept in the vault for their read). The
answers wait for the reads (:mod:`.prefetched` pages, the zone in the vault): a steady-state
sync of N people costs N/50 requests instead of N. A first read of a window is not batched
(its window is not known here). Any failure is left to the person's own read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from balanced_calendar.model import UserError

from connectors.google import prefetched
from connectors.google.auth import Account
from connectors.google.client import base_http, batch_uri
from connectors.google.connector import ZONE_REFRESH, GoogleConnector
from connectors.plugin import Context

log = logging.getLogger(__name__)

#: the Calendar API takes at most 50 calls per batch
BATCH_SIZE = 50


def _zone_due(ctx: Context, account: Account) -> bool:
    if ctx.person.zone_fixed or account.secret.get("zone_pending"):
        return False
    checked = account.secret.get("zone_checked")
    return not checked or ctx.clock() - dt.datetime.fromisoformat(checked) >= ZONE_REFRESH


def _sync_token(ctx: Context, account: Account) -> str | None:
    mark = account.secret.get("sync") or {}
    return mark.get("token") if mark.get("calendar") == ctx.person.calendar else None


def prefetch(contexts: Sequence[Context]) -> None:
    """Batch the zone lookups and incremental reads of the people in ``contexts``."""
    from googleapiclient.errors import HttpError
    from googleapiclient.http import BatchHttpRequest

    if not contexts:
        return
    root = contexts[0].settings.api_root
    prefetched.drop(root, {(ctx.person.email, ctx.person.calendar) for ctx in contexts})
    calls: list[tuple[str, Context, Account, Any, str | None]] = []  # (kind, ctx, account, request, token)
    connectors: list[GoogleConnector] = []
    for ctx in contexts:
        account = Account(ctx.settings, ctx.person.email, ctx.person.protect, ctx.credentials)
        zone, token = _zone_due(ctx, account), _sync_token(ctx, account)
        if not zone and not token:
            continue
        connector = GoogleConnector(ctx.settings, account, calendar=ctx.person.calendar,
                                    http=ctx.http() if ctx.http is not None else None, clock=ctx.clock)
        try:
            connector.api.refresh_if_needed()
            account.save_token()
        except UserError:
            continue  # their own read reports it
        connectors.append(connector)
        if zone:
            calls.append(("zone", ctx, account, connector.api.service.settings().get(setting="timezone"), None))
        if token:
            calls.append(("sync", ctx, account, connector.list_request(syncToken=token), token))
    if len(calls) < 2:  # one call costs one request either way
        for connector in connectors:
            connector.close()
        return
    settings = calls[0][1].settings
    for first in range(0, len(calls), BATCH_SIZE):
        chunk = calls[first:first + BATCH_SIZE]

        def answered(request_id: str, response: Any, exception: Exception | None,
                     chunk: list[tuple[str, Context, Account, Any, str | None]] = chunk) -> None:
            kind, ctx, account, _, token = chunk[int(request_id)]
            if kind == "zone" and exception is None and response.get("value"):
                account.remember(zone=response["value"], zone_checked=ctx.clock().isoformat(), zone_pending=True)
            elif kind == "sync" and token is not None:
                if exception is None:
                    prefetched.put(root, ctx.person.email, ctx.person.calendar, token, response)
                elif isinstance(exception, HttpError) and int(exception.resp.status) == 410:
                    prefetched.put(root, ctx.person.email, ctx.person.calendar, token, prefetched.EXPIRED)

        batch = BatchHttpRequest(callback=answered, batch_uri=batch_uri(settings))
        for index, (_, _, _, request, _) in enumerate(chunk):
            batch.add(request, request_id=str(index))
        http = calls[0][1].http() if calls[0][1].http is not None else base_http(settings)
        try:
            batch.execute(http=http)
        except Exception as exc:  # an optimisation only: the reads ask one by one
            log.warning("a batched google prefetch failed (%s); each read asks itself", type(exc).__name__)
        finally:
            http.close()
    for connector in connectors:
        connector.close()
