"""A complete opt-in portal on this machine: the fake Google and Microsoft authorization
servers (the connectors' test fakes, whose authorize endpoints approve at once), a config
naming people of both providers and two teams, and ``balanced-calendar serve``'s app under
uvicorn over https (a private test CA) on 127.0.0.1.

The portal tests use :func:`start_site`; a person can click through the whole opt-in with::

    .venv/bin/python -m tests.portal_site      # prints the address and the test people
    .venv/bin/python -m tests.portal_site --demo balanced-calendar-demo   # on `make demo`'s store

(the browser must accept the test CA or be started with ``--ignore-certificate-errors``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import private_ca, register_client
from tests.fakes.graph import CLIENT_ID, TENANT, Running, serve

SITI = "siti@agency.go.id"  # Google, team keuangan
BUDI = "budi@agency.go.id"  # Microsoft 365, team keuangan
LINA = "lina@agency.go.id"  # Google, leader of keuangan
ANDI = "andi@agency.go.id"  # Microsoft 365, leader of umum
STRANGER = "tamu@agency.go.id"  # not in the config


@dataclass
class Site:
    folder: Path
    config_path: Path
    google: FakeGoogle
    graph: Running
    url: str
    ca_bundle: Path  # trusts the portal and both fakes
    rt: Any = None
    portal: Any = None
    server: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def store(self, work: Any) -> Any:
        """Run ``work(rt)`` under the portal's store lock (the test reads what the portal wrote)."""
        with self.portal.lock:
            return work(self.rt)


def portal_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of its own name (the fakes' CAs have theirs; one bundle trusts all three) and a
    certificate for 127.0.0.1: ``(ca.pem, cert.pem, key.pem)``."""
    from tests.pki import make_pki

    pki = make_pki(folder / "portal-tls", "balanced-calendar portal test CA")
    return pki.ca, pki.cert, pki.key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: people of ``make demo``'s agency who may opt in through the portal (``--demo``)
DEMO_GOOGLE = "putri.portal@demo.kemenpan.example"  # Google; also a leader of the first demo team
DEMO_MICROSOFT = "yoga.portal@demo.kemenpan.example"  # Microsoft 365


def write_demo_config(demo: Path, google: FakeGoogle, google_ca: Path, graph: Running, base_url: str,
                      client: Path) -> Path:
    """``demo/portal-demo.toml``: the demo's own config (its store, vault key, teams and people)
    plus the portal, both fake sign-in servers, and two more people of its first team who sign
    in with Google and Microsoft (the Google one also leads that team)."""
    text = (demo / "config.toml").read_text(encoding="utf-8")
    first, _, rest = text.partition("leaders = [")
    if not rest:
        raise SystemExit(f"{demo / 'config.toml'} has no team: run `make demo` first")
    text = f'{first}leaders = ["{DEMO_GOOGLE}", {rest}'
    team = text.split('id = "', 1)[1].split('"', 1)[0]
    path = demo / "portal-demo.toml"
    path.write_text(text + f'''
# Added by `python -m tests.portal_site --demo`: the portal and the fake sign-in servers.
[[people]]
email = "{DEMO_GOOGLE}"
connector = "google"
team = "{team}"

[[people]]
email = "{DEMO_MICROSOFT}"
connector = "microsoft"
team = "{team}"

[portal]
base_url = "{base_url}"

[connectors.google]
client_secrets_file = "{client}"
api_endpoint = "{google.url}"
ca_file = "{google_ca}"

[connectors.microsoft]
mode = "user"
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
authority = "{graph.base}"
graph_endpoint = "{graph.graph}"
ca_file = "{graph.ca_file}"
''', encoding="utf-8")
    return path


def write_config(folder: Path, google: FakeGoogle, google_ca: Path, graph: Running, base_url: str,
                 demo: Path | None = None) -> Path:
    from balanced_calendar.vault import write_key

    client = register_client(google, folder)
    if demo is not None:
        return write_demo_config(demo, google, google_ca, graph, base_url, client)
    if not (folder / "vault-key").exists():
        write_key(folder / "vault-key")
    path = folder / "config.toml"
    path.write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"
language = "id"

[mail]
from = "balanced-calendar@agency.go.id"

[portal]
base_url = "{base_url}"
trusted_proxies = ["10.0.0.0/8"]
session_minutes = 30
signin_per_minute = 30

[connectors.google]
client_secrets_file = "{client}"
api_endpoint = "{google.url}"
ca_file = "{google_ca}"

[connectors.microsoft]
mode = "user"
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
authority = "{graph.base}"
graph_endpoint = "{graph.graph}"
ca_file = "{graph.ca_file}"

[[teams]]
id = "keuangan"
name = "Keuangan"
leaders = ["{LINA}"]

[[teams]]
id = "umum"
name = "Umum"
leaders = ["{ANDI}"]

[[people]]
email = "{SITI}"
connector = "google"
team = "keuangan"

[[people]]
email = "{BUDI}"
connector = "microsoft"
team = "keuangan"
timezone = "Asia/Makassar"

[[people]]
email = "{LINA}"
connector = "google"
team = "keuangan"

[[people]]
email = "{ANDI}"
connector = "microsoft"
team = "umum"
''')
    return path


@contextmanager
def start_site(folder: Path, clock: Any = None, demo: Path | None = None) -> Iterator[Site]:
    """Fakes, config, runtime and the portal over https; everything stops on exit.

    ``demo``: serve ``make demo``'s agency (its store, teams and people) instead of the test
    config, with two more people of its first team who sign in through the fakes.
    """
    import uvicorn

    from balanced_calendar.config import load_config
    from balanced_calendar.portal.app import build_app, server_config
    from balanced_calendar.runtime import open_runtime

    folder.mkdir(parents=True, exist_ok=True)
    google_tls, google_ca = private_ca(folder)
    google = FakeGoogle(tls=google_tls)
    graph_run = serve(folder / "graph")
    (folder / "graph").mkdir(exist_ok=True)
    graph = next(graph_run)
    for who in (SITI, LINA, STRANGER, DEMO_GOOGLE):
        google.user(who)
    for who in (BUDI, ANDI, DEMO_MICROSOFT):
        graph.fake.mailbox(who)
    ca, cert, key = portal_tls(folder)  # the portal's own certificate for 127.0.0.1
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    bundle = folder / "ca-bundle.pem"
    bundle.write_bytes(ca.read_bytes() + google_ca.read_bytes() + graph.ca_file.read_bytes())
    config_path = write_config(folder, google, google_ca, graph, url, demo)
    rt = open_runtime(load_config(config_path), environ={}, **({"clock": clock} if clock else {}))
    app = build_app(rt)
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, certfile=cert, keyfile=key))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the portal did not start")
        time.sleep(0.02)
    portal = app.app.app.state.portal  # TrustedProxies -> SecurityHeaders -> Starlette
    site = Site(folder, config_path, google, graph, url, bundle, rt=rt, portal=portal, server=server)
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        rt.close()
        google.close()
        graph_run.close()


def main() -> None:  # pragma: no cover - for people, not for pytest
    import tempfile

    import argparse

    parser = argparse.ArgumentParser(description="the opt-in portal with fake Google and Microsoft sign-in")
    parser.add_argument("--demo", type=Path, default=None,
                        help="serve the store of `make demo` (its folder, e.g. balanced-calendar-demo)")
    args = parser.parse_args()
    folder = Path(os.environ.get("PORTAL_DEMO_DIR") or tempfile.mkdtemp(prefix="balanced-calendar-portal-"))
    demo = args.demo.resolve() if args.demo else None
    with start_site(folder, demo=demo) as site:
        print(f"portal: {site.url}/  (test CA: {site.ca_bundle}; or start the browser with "
              f"--ignore-certificate-errors)")
        print(f"config: {site.config_path}")
        if demo is not None:
            team = next(t for t in site.rt.config.teams if DEMO_GOOGLE in t.leaders)
            print(f"opt in with Google as {DEMO_GOOGLE} (a leader of {team.id}: after opting in, "
                  f"{site.url}/leader/{team.id}?week=<a week of the demo, e.g. the last one>) or with "
                  f"Microsoft as {DEMO_MICROSOFT}; the fake sign-in approves at once")
        else:
            print(f"opt in with Google as {SITI} or {LINA} (leader of keuangan), "
                  f"with Microsoft as {BUDI} or {ANDI} (leader of umum); the fake sign-in approves at once")
        print("Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
