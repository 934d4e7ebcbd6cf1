"""Batched warm-up before a sync: the time zones of many people in a few HTTP requests.

A first sync of N people would otherwise ask ``settings/timezone`` N times. Here each
person's access token is made ready (and kept in the vault for their read), then the lookups
go out as HTTP batches of up to :data:`BATCH_SIZE` calls, each part with that person's own
bearer token. The answers wait in the vault; each person's read reports their zone without
asking again. Any failure here is left to the person's own read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from balanced_calendar.model import UserError

from connectors.google.auth import Account
from connectors.google.client import Api, base_http, batch_uri
from connectors.google.connector import ZONE_REFRESH
from connectors.plugin import Context

log = logging.getLogger(__name__)

#: the Calendar API takes at most 50 calls per batch
BATCH_SIZE = 50


def _due(ctx: Context, account: Account) -> bool:
    if ctx.person.zone_fixed or account.secret.get("zone_pending"):
        return False
    checked = account.secret.get("zone_checked")
    return not checked or ctx.clock() - dt.datetime.fromisoformat(checked) >= ZONE_REFRESH


def prefetch(contexts: Sequence[Context]) -> None:
    """Look up the zones of the people in ``contexts`` that are due, in batches."""
    from googleapiclient.http import BatchHttpRequest

    ready: list[tuple[Context, Account, Api]] = []
    for ctx in contexts:
        account = Account(ctx.settings, ctx.person.email, ctx.person.protect, ctx.credentials)
        if not _due(ctx, account):
            continue
        try:
            api = Api(ctx.settings, account, http=ctx.http() if ctx.http is not None else None)
            api.refresh_if_needed()
            account.save_token()
        except UserError:
            continue  # their own read reports it
        ready.append((ctx, account, api))
    if len(ready) < 2:  # one lookup costs one request either way
        return
    settings = ready[0][0].settings
    for first in range(0, len(ready), BATCH_SIZE):
        chunk = ready[first:first + BATCH_SIZE]

        def answered(request_id: str, response: Any, exception: Exception | None,
                     chunk: list[tuple[Context, Account, Api]] = chunk) -> None:
            ctx, account, _ = chunk[int(request_id)]
            if exception is None and response.get("value"):
                account.remember(zone=response["value"], zone_checked=ctx.clock().isoformat(), zone_pending=True)

        batch = BatchHttpRequest(callback=answered, batch_uri=batch_uri(settings))
        for index, (_, _, api) in enumerate(chunk):
            batch.add(api.service.settings().get(setting="timezone"), request_id=str(index))
        http = base_http(settings)
        try:
            batch.execute(http=http)
        except Exception as exc:  # an optimisation only: the reads ask one by one
            log.warning("batched google zone lookup failed (%s); each read asks itself", type(exc).__name__)
        finally:
            http.close()
    for _, _, api in ready:
        api.authorized.close()
