"""A small Exchange Web Services server for tests: real HTTP on 127.0.0.1, SOAP in the
Exchange 2016 schema, driven by the real exchangelib.

It keeps mailboxes of calendar items and answers the operations the ``exchange`` connector
sends: GetFolder (root, calendar), FindItem with a CalendarView, GetItem with
AdditionalProperties (field URIs and extended properties), CreateItem, UpdateItem (with the
change-key precondition of ``ConflictResolution="NeverOverwrite"``), DeleteItem and
SyncFolderItems (with sync states that can be expired). It checks the service account
(basic auth, NTLM through the real Negotiate/Challenge/Authenticate handshake of
pyspnego's acceptor on a kept-alive connection, or a bearer token) and the
``ExchangeImpersonation`` header: a service account
may only impersonate the mailboxes it was granted (else ``ErrorImpersonateUserDenied``), an
unknown mailbox is ``ErrorNonExistentMailbox``. ``busy`` makes the next requests fail with
``ErrorServerBusy`` and a ``BackOffMilliseconds`` hint, as Exchange throttling does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
PATH = "/EWS/Exchange.asmx"
UTC = dt.timezone.utc
#: what a 401 offers, as IIS in front of Exchange does (requests_ntlm picks NTLM)
CHALLENGES = ("NTLM", 'Basic realm="127.0.0.1"')
#: pyspnego's NTLM acceptor finds passwords through the process-wide NTLM_USER_FILE variable
_NTLM_ENV = threading.Lock()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, refused certificate) is no server failure."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)


def _t(name: str) -> str:
    return f"{{{T}}}{name}"


def _m(name: str) -> str:
    return f"{{{M}}}{name}"


@dataclass
class FakeItem:
    """One calendar item as Exchange stores it (times in UTC)."""

    uid: str
    start: dt.datetime
    end: dt.datetime
    subject: str = ""
    location: str = ""
    is_all_day: bool = False
    free_busy: str = "Busy"  # Free, Tentative, Busy, OOF, WorkingElsewhere, NoData
    my_response: str = "Organizer"  # Organizer, Accept, Tentative, Decline, NoResponseReceived, Unknown
    organizer: str | None = None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    is_cancelled: bool = False
    item_type: str = "Single"  # Single, Occurrence, Exception, RecurringMaster
    recurrence_id: dt.datetime | None = None
    zone: str = "SE Asia Standard Time"
    tag: str | None = None  # the balanced-calendar extended property
    item_id: str = ""
    version: int = 0

    @property
    def changekey(self) -> str:
        return f"CK{self.version:04d}{self.item_id[-4:]}"


@dataclass
class Mailbox:
    address: str
    items: dict[str, FakeItem] = field(default_factory=dict)
    #: item id -> serial of its last change; removed item id -> serial of its removal
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    oldest_state: int = 0


@dataclass
class Request:
    """What the server saw of one request (for tests that check what was sent)."""

    operation: str
    mailbox: str | None
    body: bytes
    attrs: dict[str, str]


class FakeEws:
    """The server state; :meth:`start` serves it on a free loopback port."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._serial = itertools.count(1)
        self.reset()
        self._httpd: ThreadingHTTPServer | None = None
        self._tls = False
        self._ntlm_dir: tempfile.TemporaryDirectory[str] | None = None

    def reset(self) -> None:
        with self._lock:
            self.mailboxes: dict[str, Mailbox] = {}
            #: service account -> password
            self.passwords: dict[str, str] = {}
            #: bearer token -> service account
            self.tokens: dict[str, str] = {}
            #: service account -> mailboxes it may impersonate (ApplicationImpersonation scope)
            self.may_impersonate: dict[str, set[str]] = {}
            #: the next ``busy`` requests get ErrorServerBusy with ``busy_ms`` back-off
            self.busy = 0
            self.busy_ms = 2000
            #: seconds to wait before answering (timeouts)
            self.delay = 0.0
            self.requests: list[Request] = []
            #: the principals (``DOMAIN\\user``) that completed an NTLM handshake
            self.ntlm_logins: list[str] = []

    # -- setup ---------------------------------------------------------------------------
    def add_service_account(self, name: str, password: str, mailboxes: set[str] | None = None,
                            token: str | None = None) -> None:
        with self._lock:
            self.passwords[name] = password
            self.may_impersonate[name] = {m.lower() for m in mailboxes or set()}
            if token:
                self.tokens[token] = name

    def mailbox(self, address: str) -> Mailbox:
        with self._lock:
            return self.mailboxes.setdefault(address.lower(), Mailbox(address.lower()))

    def put(self, address: str, item: FakeItem) -> FakeItem:
        """Add or replace (by uid) an item, as the owner's calendar app would."""
        with self._lock:
            box = self.mailbox(address)
            for existing in box.items.values():
                if existing.uid == item.uid and existing.recurrence_id == item.recurrence_id:
                    item.item_id = existing.item_id
            if not item.item_id:
                item.item_id = f"AAMkAD{next(self._ids):08d}"
            self._touch(box, item)
            box.items[item.item_id] = item
            return item

    def remove(self, address: str, uid: str) -> None:
        with self._lock:
            box = self.mailbox(address)
            for item_id, item in list(box.items.items()):
                if item.uid == uid:
                    del box.items[item_id]
                    box.changed.pop(item_id, None)
                    box.removed[item_id] = next(self._serial)

    def find(self, address: str, uid: str) -> FakeItem:
        with self._lock:
            [item] = [i for i in self.mailbox(address).items.values() if i.uid == uid]
            return item

    def expire_sync_states(self, address: str) -> None:
        with self._lock:
            box = self.mailbox(address)
            box.oldest_state = next(self._serial)
            box.removed.clear()

    def _touch(self, box: Mailbox, item: FakeItem) -> None:
        item.version = next(self._serial)
        box.changed[item.item_id] = item.version
        box.removed.pop(item.item_id, None)

    # -- serving -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}{PATH}"

    def start(self, cert: Path | None = None, key: Path | None = None) -> FakeEws:
        """Serve on a free port; over TLS with ``cert`` and ``key`` (PEM files)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            ntlm: Any = None  # this connection's NTLM acceptor between Negotiate and Authenticate

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                authorization = self.headers.get("Authorization")
                if authorization and authorization.split(" ")[0].lower() == "ntlm":
                    status, payload, headers = self._ntlm(authorization, body)
                else:
                    status, payload, headers = fake.handle(self.path, authorization, body)
                if fake.delay:
                    threading.Event().wait(fake.delay)
                self._answer(status, payload, headers)

            def _ntlm(self, authorization: str, body: bytes) -> tuple[int, str, dict[str, str | tuple[str, ...]]]:
                token = base64.b64decode(authorization.partition(" ")[2].strip() or "")
                kind = int.from_bytes(token[8:12], "little") if len(token) >= 12 else 0
                if kind == 1:  # Negotiate: answer the Challenge on this (kept-alive) connection
                    self.ntlm, challenge = fake.ntlm_challenge(token)
                    return 401, "", {"WWW-Authenticate": "NTLM " + base64.b64encode(challenge).decode()}
                acceptor, self.ntlm = self.ntlm, None
                account = fake.ntlm_account(acceptor, token) if kind == 3 and acceptor is not None else None
                if account is None:
                    return 401, "", {"WWW-Authenticate": CHALLENGES}
                return fake.handle(self.path, None, body, account=account)

            def _answer(self, status: int, payload: str, headers: dict[str, str | tuple[str, ...]]) -> None:
                data = payload.encode()
                self.send_response(status)
                for key, value in headers.items():
                    for one in (value,) if isinstance(value, str) else value:
                        self.send_header(key, one)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._tls = cert is not None
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._ntlm_dir is not None:
            self._ntlm_dir.cleanup()

    # -- NTLM ----------------------------------------------------------------------------
    def _ntlm_user_file(self) -> str:
        """The service accounts as an NTLM user file (``DOMAIN:user:password`` lines), current."""
        if self._ntlm_dir is None:
            self._ntlm_dir = tempfile.TemporaryDirectory(prefix="fake-ews-ntlm-")
        lines = []
        for name, password in self.passwords.items():
            domain, _, user = name.rpartition("\\")
            if password:
                lines.append(f"{domain}:{user}:{password}\n")
        path = os.path.join(self._ntlm_dir.name, "ntlm-users")
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(lines)
        return path

    @contextlib.contextmanager
    def _ntlm_users(self) -> Iterator[None]:
        """NTLM_USER_FILE names the current service accounts while the acceptor looks them up."""
        with self._lock, _NTLM_ENV:
            before = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = self._ntlm_user_file()
            try:
                yield
            finally:
                if before is None:
                    del os.environ["NTLM_USER_FILE"]
                else:
                    os.environ["NTLM_USER_FILE"] = before

    def ntlm_challenge(self, negotiate: bytes) -> tuple[Any, bytes]:
        """A new acceptor for this connection and its Challenge to the client's Negotiate."""
        import spnego

        with self._ntlm_users():
            acceptor = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
            challenge = acceptor.step(negotiate)
        assert challenge is not None
        return acceptor, challenge

    def ntlm_account(self, acceptor: Any, authenticate: bytes) -> str | None:
        """The service account the client's Authenticate proves, ``None`` if the proof is wrong."""
        from spnego.exceptions import SpnegoError

        with self._ntlm_users():
            try:
                acceptor.step(authenticate)
            except SpnegoError:
                return None
            principal = acceptor.client_principal or ""
            self.ntlm_logins.append(principal)
            return next((name for name in self.passwords if name.lower() == principal.lower()), None)

    # -- the protocol --------------------------------------------------------------------
    def _account(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            return user if self.passwords.get(user) == password and password else None
        if scheme.lower() == "bearer":
            return self.tokens.get(value)
        return None

    def handle(self, path: str, authorization: str | None, body: bytes,
               account: str | None = None) -> tuple[int, str, dict[str, str | tuple[str, ...]]]:
        """One EWS request of ``account`` (signed in through NTLM) or of whoever ``authorization``
        names (basic or bearer)."""
        if path != PATH:
            return 404, "", {}
        with self._lock:
            account = account or self._account(authorization)
            if account is None:
                return 401, "", {"WWW-Authenticate": CHALLENGES}
            envelope = ET.fromstring(body)
            header = envelope.find(f"{{{SOAP}}}Header")
            operation = next(iter(envelope.find(f"{{{SOAP}}}Body")))  # type: ignore[arg-type]
            name = operation.tag.split("}")[1]
            target = None
            if header is not None:
                smtp = header.find(f"{_t('ExchangeImpersonation')}/{_t('ConnectingSID')}/{_t('PrimarySmtpAddress')}")
                target = smtp.text.lower() if smtp is not None and smtp.text else None
            self.requests.append(Request(name, target, body, dict(operation.attrib)))
            if self.busy > 0:
                self.busy -= 1
                return self._fault("ErrorServerBusy", "The server cannot service this request right now. "
                                   "Try again later.", back_off_ms=self.busy_ms)
            if target is None:
                target = account
            elif target not in self.mailboxes:
                return self._fault("ErrorNonExistentMailbox", f"The SMTP address has no mailbox associated with it.")
            elif target not in self.may_impersonate.get(account, set()):
                return self._fault("ErrorImpersonateUserDenied",
                                   "The account does not have permission to impersonate the requested user.")
            box = self.mailbox(target)
            handler = getattr(self, f"_op_{name}", None)
            if handler is None:
                return self._fault("ErrorInvalidRequest", f"The fake does not serve {name}.")
            return 200, self._envelope(handler(box, operation)), {}

    # -- envelopes -----------------------------------------------------------------------
    @staticmethod
    def _envelope(body: str) -> str:
        return (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<s:Envelope xmlns:s="{SOAP}"><s:Header><h:ServerVersionInfo MajorVersion="15" '
                f'MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" '
                f'xmlns:h="{T}"/></s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</s:Body></s:Envelope>')

    @staticmethod
    def _fault(code: str, text: str,
               back_off_ms: int | None = None) -> tuple[int, str, dict[str, str | tuple[str, ...]]]:
        extra = ""
        if back_off_ms is not None:
            extra = (f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value>'
                     f"</t:MessageXml>")
        body = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
                f'<faultcode xmlns:a="{T}">a:{code}</faultcode><faultstring xml:lang="en-US">{escape(text)}'
                f'</faultstring><detail><e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
                f'<e:Message xmlns:e="{E}">{escape(text)}</e:Message>{extra}</detail></s:Fault></s:Body>'
                f"</s:Envelope>")
        return 500, body, {}

    @staticmethod
    def _messages(operation: str, messages: list[str]) -> str:
        return (f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>'
                + "".join(messages) + f"</m:ResponseMessages></m:{operation}Response>")

    @staticmethod
    def _ok(operation: str, inner: str) -> str:
        return (f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                f"{inner}</m:{operation}ResponseMessage>")

    @staticmethod
    def _error(operation: str, code: str, text: str) -> str:
        return (f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
                f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
                f"</m:{operation}ResponseMessage>")

    # -- folders ---------------------------------------------------------------------------
    def _op_GetFolder(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        messages = []
        for folder in op.find(_m("FolderIds")) or []:
            name = folder.get("Id", "")
            if name == "root" or name == f"root:{box.address}":
                inner = (f'<t:Folder><t:FolderId Id={quoteattr("root:" + box.address)} ChangeKey="AQAAAA=="/>'
                         f"<t:DisplayName>Root</t:DisplayName><t:TotalCount>0</t:TotalCount>"
                         f"<t:ChildFolderCount>1</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:Folder>")
            elif name == "calendar" or name == f"calendar:{box.address}":
                inner = (f'<t:CalendarFolder><t:FolderId Id={quoteattr("calendar:" + box.address)} '
                         f'ChangeKey="AgAAAA=="/><t:ParentFolderId Id={quoteattr("root:" + box.address)} '
                         f'ChangeKey="AQAAAA=="/><t:FolderClass>IPF.Appointment</t:FolderClass>'
                         f"<t:DisplayName>Calendar</t:DisplayName><t:TotalCount>{len(box.items)}</t:TotalCount>"
                         f"<t:ChildFolderCount>0</t:ChildFolderCount></t:CalendarFolder>")
            else:
                messages.append(self._error("GetFolder", "ErrorFolderNotFound", "The specified folder could not be found in the store."))
                continue
            messages.append(self._ok("GetFolder", f"<m:Folders>{inner}</m:Folders>"))
        return self._messages("GetFolder", messages)

    # -- reading ---------------------------------------------------------------------------
    def _op_FindItem(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        view = op.find(_m("CalendarView"))
        assert view is not None, "the connector reads calendars through a CalendarView"
        start, end = _instant(view.get("StartDate", "")), _instant(view.get("EndDate", ""))
        found = sorted((i for i in box.items.values() if i.start < end and i.end > start and i.item_type != "RecurringMaster"),
                       key=lambda i: (i.start, i.item_id))
        if end - start > dt.timedelta(days=731):  # Exchange refuses calendar views over two years
            return self._messages("FindItem", [self._error(
                "FindItem", "ErrorCalendarViewRangeTooBig", "The calendar view range is too big.")])
        items = "".join(f"<t:CalendarItem>{_item_id(i)}</t:CalendarItem>" for i in found)
        inner = (f'<m:RootFolder TotalItemsInView="{len(found)}" IncludesLastItemInRange="true">'
                 f"<t:Items>{items}</t:Items></m:RootFolder>")
        return self._messages("FindItem", [self._ok("FindItem", inner)])

    def _op_GetItem(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        shape = op.find(_m("ItemShape"))
        fields = {f.get("FieldURI") for f in shape.iter(_t("FieldURI"))} if shape is not None else set()
        extended = shape is not None and shape.find(f"{_t('AdditionalProperties')}/{_t('ExtendedFieldURI')}") is not None
        messages = []
        for ref in op.find(_m("ItemIds")) or []:
            item = box.items.get(ref.get("Id", ""))
            if item is None:
                messages.append(self._error("GetItem", "ErrorItemNotFound",
                                            "The specified object was not found in the store."))
                continue
            messages.append(self._ok("GetItem", f"<m:Items>{_render(item, fields, extended)}</m:Items>"))
        return self._messages("GetItem", messages)

    def _op_SyncFolderItems(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        state_elem = op.find(_m("SyncState"))
        state = state_elem.text if state_elem is not None and state_elem.text else None
        since = 0
        if state is not None:
            try:
                since = int(base64.b64decode(state).decode().removeprefix("fake-sync:"))
            except ValueError:
                since = -1
            if since < box.oldest_state or since < 0:
                # Exchange keeps the message's schema sequence: an empty SyncState follows the code
                error = self._error("SyncFolderItems", "ErrorInvalidSyncStateData",
                                    "Synchronization state data is corrupt or otherwise invalid.")
                error = error.replace("</m:SyncFolderItemsResponseMessage>", "<m:SyncState/><m:IncludesLastItemInRange>"
                                      "true</m:IncludesLastItemInRange></m:SyncFolderItemsResponseMessage>")
                return self._messages("SyncFolderItems", [error])
        serial = next(self._serial)
        changes = []
        for item_id, version in box.changed.items():
            if version > since:
                kind = "Create" if state is None else "Update"
                changes.append(f"<t:{kind}><t:CalendarItem>{_item_id(box.items[item_id])}</t:CalendarItem></t:{kind}>")
        for item_id, version in box.removed.items():
            if version > since and state is not None:
                changes.append(f'<t:Delete><t:ItemId Id="{item_id}"/></t:Delete>')
        new_state = base64.b64encode(f"fake-sync:{serial}".encode()).decode()
        inner = (f"<m:SyncState>{new_state}</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>"
                 f"<m:Changes>{''.join(changes)}</m:Changes>")
        return self._messages("SyncFolderItems", [self._ok("SyncFolderItems", inner)])

    # -- writing ---------------------------------------------------------------------------
    def _op_CreateItem(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        messages = []
        for elem in op.find(_m("Items")) or []:
            item = FakeItem(uid="", start=dt.datetime.now(UTC), end=dt.datetime.now(UTC))
            _apply(item, elem)
            item.uid = item.uid or f"040000008200E00074C5B7101A82E008{next(self._ids):016d}"
            item.item_id = f"AAMkAD{next(self._ids):08d}"
            self._touch(box, item)
            box.items[item.item_id] = item
            messages.append(self._ok("CreateItem", f"<m:Items><t:CalendarItem>{_item_id(item)}</t:CalendarItem></m:Items>"))
        return self._messages("CreateItem", messages)

    def _op_UpdateItem(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        never_overwrite = op.get("ConflictResolution") == "NeverOverwrite"
        messages = []
        for change in op.find(_m("ItemChanges")) or []:
            ref = change.find(_t("ItemId"))
            item = box.items.get(ref.get("Id", "")) if ref is not None else None
            if item is None:
                messages.append(self._error("UpdateItem", "ErrorItemNotFound",
                                            "The specified object was not found in the store."))
                continue
            if never_overwrite and ref is not None and ref.get("ChangeKey") != item.changekey:
                messages.append(self._error("UpdateItem", "ErrorIrresolvableConflict",
                                            "The send or update operation could not be performed because the change "
                                            "key passed in the request does not match the current change key for the item."))
                continue
            for update in change.find(_t("Updates")) or []:
                if update.tag == _t("SetItemField"):
                    for value in update:
                        if value.tag == _t("CalendarItem"):
                            _apply(item, value)
            self._touch(box, item)
            messages.append(self._ok("UpdateItem", f"<m:Items><t:CalendarItem>{_item_id(item)}</t:CalendarItem></m:Items>"
                                                   "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"))
        return self._messages("UpdateItem", messages)

    def _op_DeleteItem(self, box: Mailbox, op: ET.Element) -> str:  # noqa: N802
        messages = []
        for ref in op.find(_m("ItemIds")) or []:
            item = box.items.pop(ref.get("Id", ""), None)
            if item is None:
                messages.append(self._error("DeleteItem", "ErrorItemNotFound",
                                            "The specified object was not found in the store."))
                continue
            box.changed.pop(item.item_id, None)
            box.removed[item.item_id] = next(self._serial)
            messages.append(self._ok("DeleteItem", ""))
        return self._messages("DeleteItem", messages)


# -- item XML ------------------------------------------------------------------------------
def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _z(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item_id(item: FakeItem) -> str:
    return f'<t:ItemId Id="{item.item_id}" ChangeKey="{item.changekey}"/>'


def _mailbox(address: str) -> str:
    name = address.split("@")[0].title()
    return (f"<t:Mailbox><t:Name>{escape(name)}</t:Name><t:EmailAddress>{escape(address)}</t:EmailAddress>"
            f"<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>")


def _attendees(tag: str, addresses: tuple[str, ...]) -> str:
    inner = "".join(f"<t:Attendee>{_mailbox(a)}<t:ResponseType>Unknown</t:ResponseType></t:Attendee>"
                    for a in addresses)
    return f"<t:{tag}>{inner}</t:{tag}>" if addresses else ""


def _render(item: FakeItem, fields: set[str | None], extended: bool) -> str:
    """The item with the requested properties only, in the schema's element order."""
    parts = [_item_id(item)]
    if "item:Subject" in fields:
        parts.append(f"<t:Subject>{escape(item.subject)}</t:Subject>")
    if extended and item.tag is not None:
        parts.append('<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" '
                     'PropertyName="BalancedCalendarBlockId" PropertyType="String"/>'
                     f"<t:Value>{escape(item.tag)}</t:Value></t:ExtendedProperty>")
    bool_text = {True: "true", False: "false"}
    calendar = [
        ("calendar:UID", f"<t:UID>{escape(item.uid)}</t:UID>"),
        ("calendar:RecurrenceId", f"<t:RecurrenceId>{_z(item.recurrence_id)}</t:RecurrenceId>"
         if item.recurrence_id else ""),
        ("calendar:Start", f"<t:Start>{_z(item.start)}</t:Start>"),
        ("calendar:End", f"<t:End>{_z(item.end)}</t:End>"),
        ("calendar:IsAllDayEvent", f"<t:IsAllDayEvent>{bool_text[item.is_all_day]}</t:IsAllDayEvent>"),
        ("calendar:LegacyFreeBusyStatus", f"<t:LegacyFreeBusyStatus>{item.free_busy}</t:LegacyFreeBusyStatus>"),
        ("calendar:Location", f"<t:Location>{escape(item.location)}</t:Location>"),
        ("calendar:IsCancelled", f"<t:IsCancelled>{bool_text[item.is_cancelled]}</t:IsCancelled>"),
        ("calendar:CalendarItemType", f"<t:CalendarItemType>{item.item_type}</t:CalendarItemType>"),
        ("calendar:MyResponseType", f"<t:MyResponseType>{item.my_response}</t:MyResponseType>"),
        ("calendar:Organizer", f"<t:Organizer>{_mailbox(item.organizer)}</t:Organizer>" if item.organizer else ""),
        ("calendar:RequiredAttendees", _attendees("RequiredAttendees", item.required)),
        ("calendar:OptionalAttendees", _attendees("OptionalAttendees", item.optional)),
        ("calendar:StartTimeZone", f'<t:StartTimeZone Id={quoteattr(item.zone)} Name="(fake)"/>'),
        ("calendar:EndTimeZone", f'<t:EndTimeZone Id={quoteattr(item.zone)} Name="(fake)"/>'),
    ]
    parts += [xml for uri, xml in calendar if uri in fields]
    return f"<t:CalendarItem>{''.join(parts)}</t:CalendarItem>"


def _apply(item: FakeItem, elem: ET.Element) -> None:
    """Set the properties a CreateItem/SetItemField element carries."""
    for child in elem:
        name = child.tag.split("}")[1]
        text = child.text or ""
        if name == "Subject":
            item.subject = text
        elif name == "UID":
            item.uid = text
        elif name == "Start":
            item.start = _instant(text)
        elif name == "End":
            item.end = _instant(text)
        elif name == "IsAllDayEvent":
            item.is_all_day = text == "true"
        elif name == "LegacyFreeBusyStatus":
            item.free_busy = text
        elif name == "StartTimeZone":
            item.zone = child.get("Id", item.zone)
        elif name == "ExtendedProperty":
            value = child.find(_t("Value"))
            uri = child.find(_t("ExtendedFieldURI"))
            if uri is not None and uri.get("PropertyName") == "BalancedCalendarBlockId":
                item.tag = value.text if value is not None else None


# -- the contract scenario as Exchange items ---------------------------------------------------
def scenario_item(spec: object, owner: str) -> FakeItem:
    """A :class:`tests.contract.scenario.SpecEvent` as the owner's Exchange calendar holds it
    (in the zone "SE Asia Standard Time", with a secret subject and location)."""
    from tests.contract.scenario import JAKARTA, SECRET_TITLE

    s: Any = spec
    if isinstance(s.start, dt.datetime):
        start, end, all_day = s.start, s.end, False
    else:
        start = dt.datetime.combine(s.start, dt.time(), JAKARTA)
        end = dt.datetime.combine(s.end, dt.time(), JAKARTA)
        all_day = True
    free_busy = "OOF" if s.busystatus == "OOF" else "Free" if s.transparent else "Busy"
    response = {"ACCEPTED": "Accept", "DECLINED": "Decline", "TENTATIVE": "Tentative"}.get(
        s.owner_partstat or "", "NoResponseReceived")
    invited = s.organizer is not None
    return FakeItem(
        uid=s.uid, start=start.astimezone(UTC), end=end.astimezone(UTC), subject=SECRET_TITLE,
        location="Ruang 301", is_all_day=all_day, free_busy=free_busy,
        my_response=response if invited else "Organizer", organizer=s.organizer or owner,
        required=((owner,) + tuple(o for o in s.others if o != s.organizer)) if invited else tuple(s.others),
        is_cancelled=s.status == "CANCELLED")


def items_from_events(events: list[Any], owner: str) -> list[FakeItem]:
    """Normalised events (e.g. an ICS file read by the ``ics`` connector) as the Exchange items
    that would give them: occurrences of a series share the series' UID."""
    free_busy = {"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "OOF",
                 "working_elsewhere": "WorkingElsewhere"}
    responses = {"organizer": "Organizer", "accepted": "Accept", "declined": "Decline", "tentative": "Tentative",
                 "needs_action": "NoResponseReceived", "unknown": "Unknown"}
    items = []
    for number, event in enumerate(events):
        uid, _, instance = event.uid.partition("/")
        if event.all_day:
            start = dt.datetime.combine(event.start, dt.time(), ZoneInfo("Asia/Jakarta"))
            end = dt.datetime.combine(event.end, dt.time(), ZoneInfo("Asia/Jakarta"))
        else:
            start, end = event.start, event.end
        guests = tuple(f"guest{number}-{n}@agency.go.id" for n in range(event.others))
        if event.organizer_is_self:
            organizer, required = owner, guests
        else:
            organizer, required = guests[0] if guests else "organizer@agency.go.id", (owner,) + guests[1:]
        items.append(FakeItem(
            uid=uid, start=start.astimezone(UTC), end=end.astimezone(UTC), subject="(secret title)",
            is_all_day=event.all_day, free_busy=free_busy[event.show_as.value],
            my_response=responses[event.response.value], organizer=organizer, required=required,
            item_type="Occurrence" if instance else "Single",
            recurrence_id=start.astimezone(UTC) if instance else None))
    return items
