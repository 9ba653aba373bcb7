"""Provision a ready Tryton database (company, books, fiscal years), cloned from a cached template."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from contractsync.adapters.tryton import postgres
from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.company_setup import CompanyProfile, set_up_company
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.server import TrytonServer
from contractsync.adapters.tryton.site import TrytonSite, tryton_command
from contractsync.errors import ConfigError

ProgressCallback = Callable[[str, float], None]
"""Called with what is happening and the fraction done (0.0 to 1.0)."""

PROVISIONING_REVISION = "1"
"""Bump when the set-up changes, so cached templates built by older code are not reused."""

MODULES = (
    "party",
    "company",
    "currency",
    "country",
    "product",
    "account",
    "account_product",
    "account_invoice",
    "project",
    "project_revenue",
    "project_invoice",
    "timesheet",
    "timesheet_cost",
)
"""Tryton modules activated (with their dependencies) in every provisioned database."""

_ADMIN_SHARE = 0.8  # trytond-admin is most of a cold init; the RPC set-up is the rest
_EXPECTED_MODULE_LOADS = 16  # "<module> load" lines a cold init logs (measured on 8.2)
_MODULE_LOAD = re.compile(r" INFO trytond\.modules \w+ load$")


@dataclass(frozen=True)
class ProvisionedDatabase:
    """A database ready for the hub, and how to log in to it."""

    site: TrytonSite
    user: str
    password: SecretStr
    company_id: int
    from_cache: bool
    seconds: float

    def settings(self, url: str) -> TrytonSettings:
        """Return client settings for this database served at ``url``."""
        return TrytonSettings(
            url=url,
            database=self.site.database,
            user=self.user,
            password=self.password,
            company_id=self.company_id,
        )


def default_cache_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/contractsync/tryton`` (``~/.cache/...`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contractsync" / "tryton"


def template_key(profile: CompanyProfile, today: dt.date, backend: str) -> str:
    """Return the cache key of a template: code revision, package versions, company, year."""
    versions = []
    for dist in ("trytond", *(f"trytond-{m.replace('_', '-')}" for m in MODULES)):
        try:
            versions.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}=missing")
    parts = [PROVISIONING_REVISION, backend, str(today.year), profile.fingerprint(), *versions]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two processes (parallel test sessions) must not build the same template at once.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _initialise(site: TrytonSite, on_progress: ProgressCallback) -> None:
    """Create the schema and activate ``MODULES`` with ``trytond-admin`` (the slow part)."""
    log = site.log_dir / "trytond-admin.log"
    command = [tryton_command("trytond-admin"), "-c", str(site.config_file), "-d", site.database]
    command += ["--email", "admin@example.com", "-u", *MODULES, "--activate-dependencies", "-vv"]
    env = {**os.environ, "TRYTONPASSFILE": str(site.password_file)}
    loaded = 0
    with (
        log.open("w") as out,
        subprocess.Popen(  # fixed command, no shell
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process,
    ):
        assert process.stdout is not None  # PIPE was requested
        for line in process.stdout:
            out.write(line)
            if _MODULE_LOAD.search(line.rstrip()):
                loaded += 1
                done = min(loaded / _EXPECTED_MODULE_LOADS, 0.99) * _ADMIN_SHARE
                on_progress("activating Tryton modules", done)
    if process.returncode != 0:
        raise ConfigError(
            f"trytond-admin failed (exit {process.returncode}); see {log}.",
            code="tryton.init_failed",
            detail={"log": str(log)},
        )


def _build(
    site: TrytonSite, profile: CompanyProfile, today: dt.date, on_progress: ProgressCallback
) -> dict[str, Any]:
    """Initialise ``site``'s (empty) database and set up the company; return its metadata."""
    password = secrets.token_urlsafe(18)
    site.write_config()
    site.write_password(password)
    if site.is_sqlite:
        site.sqlite_file.touch()  # trytond-admin refuses a SQLite database that has no file
    on_progress("activating Tryton modules", 0.0)
    _initialise(site, on_progress)
    on_progress("starting trytond", _ADMIN_SHARE)
    with TrytonServer(site) as server:
        settings = TrytonSettings(
            url=server.url, database=site.database, password=SecretStr(password)
        )
        with TrytonClient(settings) as client:
            steps = iter((0.85, 0.9, 0.94, 0.97))

            def step(what: str) -> None:
                on_progress(f"setting up {what}", next(steps, 0.97))

            company = set_up_company(client, profile, today=today, on_step=step)
    return {"user": "admin", "password": password, "company_id": company, "today": str(today)}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # The metadata holds the admin password of a loopback-only database: owner-only file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


def _sqlite_template(
    cache: Path, key: str, profile: CompanyProfile, today: dt.date, on_progress: ProgressCallback
) -> tuple[Path, dict[str, Any], bool]:
    file, meta = cache / f"{key}.sqlite", cache / f"{key}.json"
    with _locked(cache / f"{key}.lock"):
        if file.exists() and meta.exists():
            return file, json.loads(meta.read_text()), True
        build = TrytonSite(cache / f"build-{key}-{os.getpid()}", "template")
        try:
            data = _build(build, profile, today, on_progress)
            on_progress("saving the template", 0.98)
            partial = file.with_suffix(".partial")
            # The backup API copies a consistent snapshot, including pages still in the WAL.
            with sqlite3.connect(build.sqlite_file) as src, sqlite3.connect(partial) as dst:
                src.backup(dst)
            os.replace(partial, file)
            _write_json(meta, data)
        finally:
            shutil.rmtree(build.root, ignore_errors=True)
        return file, data, False


def _postgres_template(
    cache: Path,
    key: str,
    site: TrytonSite,
    profile: CompanyProfile,
    today: dt.date,
    on_progress: ProgressCallback,
) -> tuple[str, dict[str, Any], bool]:
    name = f"contractsync_tryton_{key}"
    netloc = re.sub(r"[^A-Za-z0-9]+", "_", site.server_url.split("://", 1)[1]).strip("_")
    meta = cache / f"{key}-pg-{netloc}.json"
    with _locked(cache / f"{key}-pg.lock"):
        if meta.exists() and postgres.database_exists(site.server_url, name):
            return name, json.loads(meta.read_text()), True
        postgres.drop_database(site.server_url, name)
        postgres.create_database(site.server_url, name)
        build = TrytonSite(cache / f"build-{key}-{os.getpid()}", name, site.database_url)
        try:
            data = _build(build, profile, today, on_progress)
        except BaseException:
            postgres.drop_database(site.server_url, name)
            raise
        finally:
            shutil.rmtree(build.root, ignore_errors=True)
        _write_json(meta, data)
        return name, data, False


def provision(
    site: TrytonSite,
    *,
    profile: CompanyProfile | None = None,
    force: bool = False,
    cache_dir: Path | None = None,
    today: dt.date | None = None,
    on_progress: ProgressCallback | None = None,
) -> ProvisionedDatabase:
    """Create ``site``'s database ready for the hub, from a cached template when possible.

    The first run for a given Tryton version, company profile and year initialises a
    template (about 30 s on SQLite, 90 s on PostgreSQL) and caches it: a SQLite file under
    ``cache_dir``, or a ``contractsync_tryton_<key>`` PostgreSQL database. Later runs copy
    it in well under a second. The admin password is stored in ``site.password_file``.

    Args:
        site: Where the database goes (and its backend).
        profile: The company to book for; a demo company by default.
        force: Replace an existing database.
        cache_dir: Template cache folder; ``default_cache_dir()`` when ``None``.
        today: Fixes the fiscal years; today's date when ``None``.
        on_progress: Progress callback for long steps.

    Raises:
        ConfigError: the database exists and ``force`` is false, Tryton is not installed,
            PostgreSQL cannot be reached, or the Tryton initialisation failed.
    """
    started = time.monotonic()
    report = on_progress or (lambda _what, _done: None)
    profile, today = profile or CompanyProfile(), today or dt.date.today()
    cache = cache_dir or default_cache_dir()
    backend = "sqlite" if site.is_sqlite else "postgresql"
    key = template_key(profile, today, backend)
    exists = (
        site.sqlite_file.exists()
        if site.is_sqlite
        else postgres.database_exists(site.server_url, site.database)
    )
    if exists and not force:
        raise ConfigError(
            f"The Tryton database {site.location} already exists.",
            code="tryton.database_exists",
            remediation="Use it as it is, or pass --force to replace it.",
        )
    site.write_config()
    if site.is_sqlite:
        template, data, cached = _sqlite_template(cache, key, profile, today, report)
        report("copying the template", 0.99)
        for suffix in ("-wal", "-shm"):
            Path(f"{site.sqlite_file}{suffix}").unlink(missing_ok=True)
        partial = site.sqlite_file.with_suffix(".partial")
        shutil.copyfile(template, partial)
        os.replace(partial, site.sqlite_file)
    else:
        name, data, cached = _postgres_template(cache, key, site, profile, today, report)
        report("cloning the template", 0.99)
        postgres.drop_database(site.server_url, site.database)
        postgres.create_database(site.server_url, site.database, template=name)
    site.write_password(data["password"])
    report("ready", 1.0)
    return ProvisionedDatabase(
        site=site,
        user=str(data["user"]),
        password=SecretStr(str(data["password"])),
        company_id=int(data["company_id"]),
        from_cache=cached,
        seconds=time.monotonic() - started,
    )
