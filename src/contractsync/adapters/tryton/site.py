"""Where one local Tryton lives: its folder, trytond config file, database backend and name."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contractsync.errors import ConfigError

DEFAULT_ROOT = Path(".contractsync") / "tryton"
"""Default folder of the local Tryton, relative to the working directory."""


def tryton_command(name: str) -> str:
    """Return the path of a trytond script (``trytond``, ``trytond-admin``).

    The script next to the running interpreter wins, so the venv's trytond is used even
    when the venv is not activated.

    Raises:
        ConfigError: if Tryton is not installed.
    """
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not installed.",
            code="tryton.not_installed",
            remediation='Install the Tryton extra: uv pip install -e ".[tryton]".',
        )
    return found


@dataclass(frozen=True)
class TrytonSite:
    """One local Tryton installation.

    Args:
        root: Folder holding the config file, the admin password file, logs and, on
            SQLite, the database file ``db/<database>.sqlite``.
        database: Tryton database name.
        database_url: ``sqlite://`` or a PostgreSQL server URL such as
            ``postgresql://127.0.0.1:5432/`` (the database name is not part of it).
    """

    root: Path = DEFAULT_ROOT
    database: str = "contractsync"
    database_url: str = "sqlite://"

    def __post_init__(self) -> None:
        scheme = urlsplit(self.database_url).scheme
        if scheme not in {"sqlite", "postgresql"}:
            raise ConfigError(
                f"Unsupported Tryton database URL scheme {scheme!r}.",
                code="tryton.database_url",
                remediation="Use sqlite:// or postgresql://host:port/.",
            )
        object.__setattr__(self, "root", Path(self.root).absolute())

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file."""
        return urlsplit(self.database_url).scheme == "sqlite"

    @property
    def server_url(self) -> str:
        """The PostgreSQL server URL without path, or ``sqlite://``."""
        parts = urlsplit(self.database_url)
        return f"{parts.scheme}://{parts.netloc}/" if parts.netloc else f"{parts.scheme}://"

    @property
    def config_file(self) -> Path:
        """The trytond configuration file."""
        return self.root / "trytond.conf"

    @property
    def sqlite_dir(self) -> Path:
        """Folder of the SQLite database files (trytond's ``[database] path``)."""
        return self.root / "db"

    @property
    def sqlite_file(self) -> Path:
        """The SQLite database file."""
        return self.sqlite_dir / f"{self.database}.sqlite"

    @property
    def password_file(self) -> Path:
        """File holding the admin password (mode 600), usable as ``TRYTONPASSFILE``."""
        return self.root / "admin.password"

    @property
    def log_dir(self) -> Path:
        """Folder of the trytond logs."""
        return self.root / "logs"

    @property
    def location(self) -> str:
        """Where the database is, in words a user can act on."""
        if self.is_sqlite:
            return str(self.sqlite_file)
        return f"{self.server_url}{self.database}"

    def write_config(self) -> Path:
        """Write the trytond config file and return its path.

        ``[web] listen`` is deliberately absent: a config file overrides the environment,
        and the server passes its port through ``TRYTOND_WEB__LISTEN``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        lines = ["[database]", f"uri = {self.server_url}"]
        if self.is_sqlite:
            self.sqlite_dir.mkdir(exist_ok=True)
            lines.append(f"path = {self.sqlite_dir}")
        lines += ["language = en", "list = False", "", "[session]", "timeout = 3600", ""]
        self.config_file.write_text("\n".join(lines))
        return self.config_file

    def write_password(self, password: str) -> Path:
        """Store the admin password in ``password_file``, readable by the owner only."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return self.password_file

    def read_password(self) -> str:
        """Return the stored admin password.

        Raises:
            ConfigError: if the site was never provisioned.
        """
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError as exc:
            raise ConfigError(
                f"No Tryton database was provisioned under {self.root}.",
                code="tryton.not_provisioned",
                remediation="Run `contractsync erp tryton init` first.",
            ) from exc
