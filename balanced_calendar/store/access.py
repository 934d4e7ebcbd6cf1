"""Why a file of the state directory cannot be written, said the way an operator can fix it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def write_hint(path: Path) -> str:
    """The hint for "cannot open/write ``path``" (a database, lock or journal file), naming the
    real cause: a read-only filesystem, a file or directory mode that denies this user, or an
    owner that is not this user. Falls back to the general ownership hint. Never raises."""
    path = Path(path)
    directory = path.parent
    try:
        if os.statvfs(path if path.exists() else directory).f_flag & os.ST_RDONLY:
            return (f"the filesystem holding {directory} is mounted read-only; remount it read-write "
                    "(systemd: the state directory must not be under ProtectSystem= without "
                    "StateDirectory= or ReadWritePaths=)")
        me = _user(os.geteuid())
        journals = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        for target, wanted, fix in ((directory, os.W_OK | os.X_OK, f"chmod 700 {directory}"),
                                    *((f, os.W_OK, f"chmod 600 {f}") for f in (path, *journals))):
            if not target.exists() or os.access(target, wanted):
                continue
            info = target.stat()
            mode = stat.S_IMODE(info.st_mode)
            if info.st_uid != os.geteuid():
                return (f"{target} belongs to {_user(info.st_uid)} (mode {mode:04o}), not to {me}: run as "
                        f"the service user, or chown {me} {target}")
            return f"{target} has mode {mode:04o}, which does not let its owner {me} write it: {fix}"
    except OSError:
        pass
    return "check that the service user owns the state directory and its files"
