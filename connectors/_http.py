"""Downloading published calendars over HTTP(S) and webcal, for any connector.

:func:`http_url` tells a URL from a local path (``webcal://`` is fetched over https),
:func:`redact` makes a URL fit for messages and logs (published addresses embed secrets),
and :func:`fetch` downloads with a timeout and a size limit, turning every failure into a
:class:`~balanced_calendar.model.ProviderError` with a hint where one helps.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request

from balanced_calendar.model import ProviderError

log = logging.getLogger(__name__)

#: a published calendar larger than this is refused rather than read into memory
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


def http_url(source: str) -> str | None:
    """The URL to fetch for an http(s)/webcal ``source``; ``None`` for a local path."""
    scheme, sep, rest = source.strip().partition("://")
    scheme = scheme.lower()
    if not sep:
        return None
    if scheme in ("webcal", "webcals"):
        return "https://" + rest
    if scheme in ("http", "https"):
        return source.strip()
    return None


def redact(url: str) -> str:
    """A URL fit for messages and logs: ``scheme://host[:port]/…``, nothing of the path.

    Published calendar addresses carry their secret anywhere in the path or the query
    (Nextcloud: ``/remote.php/dav/public-calendars/<token>?export``), so no part of them is
    kept; the user information is dropped with them.
    """
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port: show no host part at all
        host, port = "", None
    if port:
        host += f":{port}"
    return f"{scheme}://{host}/…"


#: what to tell the user for HTTP errors typical of published calendars
HTTP_HINTS = {
    401: "the calendar is private; use its secret address (\"Secret address in iCal format\")",
    403: "the calendar is private or its secret address was reset; copy the address again",
    404: "check the address; resetting a secret address makes the old one stop working",
    410: "the calendar is no longer published at this address",
}


def fetch(url: str, timeout: float, opener: urllib.request.OpenerDirector | None, *,
          provider: str = "ics") -> tuple[bytes, str | None]:
    """GET ``url``; returns (body, charset).

    ``opener`` is the seam for the HTTP client (``None``: :func:`urllib.request.urlopen`);
    ``provider`` names the connector in errors and the User-Agent. Raises
    :class:`ProviderError` on an HTTP error, a timeout, an unreachable server or a body
    larger than :data:`MAX_DOWNLOAD_BYTES`; messages carry only the :func:`redact`-ed URL.
    """
    label = redact(url)
    request = urllib.request.Request(url, headers={
        "User-Agent": f"balanced-calendar ({provider} connector)",
        "Accept": "text/calendar, text/plain;q=0.5, */*;q=0.1",
    })
    open_url = opener.open if opener is not None else urllib.request.urlopen
    try:
        with open_url(request, timeout=timeout) as response:
            body = response.read(MAX_DOWNLOAD_BYTES + 1)
            charset = response.headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        exc.close()
        hint = HTTP_HINTS.get(exc.code, "try again later" if exc.code >= 500 else None)
        raise ProviderError(provider, f"the server answered HTTP {exc.code} {exc.reason}",
                            hint=hint, source=label) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ProviderError(provider, f"no answer within {timeout:g} s", source=label) from None
        raise ProviderError(provider, f"cannot reach the server ({exc.reason})", source=label) from None
    except TimeoutError:
        raise ProviderError(provider, f"no answer within {timeout:g} s", source=label) from None
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderError(provider, f"download failed ({exc.__class__.__name__})", source=label) from None
    if len(body) > MAX_DOWNLOAD_BYTES:
        raise ProviderError(provider, f"larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB", source=label)
    log.debug("fetched %d bytes from %s", len(body), label)
    return body, charset
