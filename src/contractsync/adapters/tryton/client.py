"""JSON-RPC client for Tryton 8.2 over httpx: session login, model calls in company context."""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from contractsync.adapters.tryton import errors
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.payloads import decode, request_body
from contractsync.errors import ConfigError, TransientError

# Calls that never change data: a lost reply to one of them is safe to retry blindly.
_READ_METHODS = frozenset(
    {
        "read",
        "search",
        "search_read",
        "search_count",
        "fields_get",
        "default_get",
        "get_preferences",
        "get_id",
        "login",
        "version",
        "list",
    }
)


def is_write_method(method: str) -> bool:
    """Return True when the JSON-RPC ``method`` may change data (its lost reply is ambiguous)."""
    return method.rsplit(".", 1)[-1] not in _READ_METHODS


Domain = Sequence[Any]
"""A Tryton search domain, e.g. ``[("code", "=", "C-1")]``."""


@dataclass(frozen=True)
class TrytonCheck:
    """What ``TrytonClient.check`` found: the server, the database and the company answer."""

    server_version: str
    database: str
    user_id: int
    company_id: int
    company_name: str
    currency: str


class TrytonClient:
    """One authenticated JSON-RPC session with one Tryton database.

    Every model call carries the context Tryton's preferences return plus ``company``,
    because company-scoped records (projects, invoices, accounts) are invisible or refused
    without it. Failures are raised as contractsync errors (see ``tryton.errors``). The
    client logs in lazily on the first call and once more when the session has expired.
    Not thread-safe: use one client per thread (and one writer at a time on SQLite).

    Args:
        settings: Where the server is and how to log in.
        transport: An httpx transport, e.g. ``httpx.WSGITransport`` for in-process use.
    """

    def __init__(
        self, settings: TrytonSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Content-Type": "application/json"},
        )
        self._request_id = 0
        self._auth: str | None = None
        self._user_id: int | None = None
        self._context: dict[str, Any] = {}
        # Concurrent steps share one client: a session is published only with its context
        # (a call without the company would see no projects), and one thread logs in.
        self._login_lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the Tryton session simply expires)."""
        self._http.close()

    # -- transport ---------------------------------------------------------------------

    def _post(
        self, path: str, method: str, params: list[Any], *, write: bool, auth: str | None = None
    ) -> Any:
        self._request_id += 1
        session = auth or self._auth
        headers = {"Authorization": session} if session else {}
        body = request_body(self._request_id, method, params)
        try:
            response = self._http.post(path, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise errors.from_transport(exc, method=method, write=write) from exc
        if response.status_code != 200:
            raise errors.from_status(response, method=method)
        try:
            reply = decode(response.content)
        except ValueError as exc:
            raise TransientError(
                f"Tryton sent an unreadable reply to {method}.",
                code="tryton.bad_reply",
                detail={"method": method},
            ) from exc
        if "error" in reply:
            raise errors.from_rpc_error(reply["error"], method=method)
        return reply.get("result")

    def server_call(self, method: str, *params: Any) -> Any:
        """Call a database-independent method such as ``common.server.version``."""
        return self._post("/rpc/", method, list(params), write=False)

    def call(self, method: str, *params: Any) -> Any:
        """Call a method on the database, logging in first when there is no session.

        A 401 on an existing session means it expired: the client logs in again and
        repeats the call once (Tryton refused it before running it, so this is safe).
        """
        self._ensure_session()
        path = f"/{self.settings.database}/rpc/"
        write = is_write_method(method)
        expired = self._auth
        try:
            return self._post(path, method, list(params), write=write)
        except ConfigError as exc:
            if exc.code != "tryton.bad_credentials":
                raise
            with self._login_lock:
                if self._auth == expired:  # else another thread has logged in anew already
                    self.login()
            return self._post(path, method, list(params), write=write)

    # -- session -----------------------------------------------------------------------

    def _ensure_session(self) -> None:
        """Log in unless a session (with its context) is published; one thread at a time."""
        if self._auth is None:
            with self._login_lock:
                if self._auth is None:
                    self.login()

    def login(self) -> int:
        """Open a session and load the user's context; return the Tryton user id.

        Raises:
            ConfigError: bad credentials, unknown database, or a ``company_id`` the user
                is not allowed to work in.
        """
        s = self.settings
        path = f"/{s.database}/rpc/"
        password = {"password": s.password.get_secret_value()}
        result = self._post(path, "common.db.login", [s.user, password, s.language], write=False)
        user_id, session = int(result[0]), str(result[1])
        token = base64.b64encode(f"{s.user}:{user_id}:{session}".encode()).decode()
        auth = f"Session {token}"
        # The session is used for the preferences only; it is published below with them.
        prefs = self._post(
            path, "model.res.user.get_preferences", [True, {}], write=False, auth=auth
        )
        context = {k: v for k, v in prefs.items() if k in {"language", "company", "companies"}}
        if s.company_id is not None:
            if s.company_id not in (prefs.get("companies") or []):
                raise ConfigError(
                    f"Tryton user {s.user!r} cannot work in company {s.company_id}.",
                    code="tryton.company_not_allowed",
                    remediation="Set company_id to one of the user's companies in Tryton.",
                    detail={"companies": prefs.get("companies")},
                )
            context["company"] = s.company_id
        self._user_id = user_id
        self._context = context
        self._auth = auth
        return user_id

    @property
    def user_id(self) -> int:
        """The logged-in Tryton user id (logs in when needed)."""
        self._ensure_session()
        assert self._user_id is not None  # login sets it or raises
        return self._user_id

    @property
    def company_id(self) -> int:
        """The company every call works in.

        Raises:
            ConfigError: if the user has no company and none is configured.
        """
        self._ensure_session()
        company = self._context.get("company")
        if not company:
            raise ConfigError(
                f"Tryton user {self.settings.user!r} has no company.",
                code="tryton.no_company",
                remediation="Provision the database or set company_id.",
            )
        return int(company)

    def refresh_context(self) -> None:
        """Reload the user's preferences (after the user's companies changed)."""
        with self._login_lock:
            self.login()

    # -- model calls -------------------------------------------------------------------

    def execute(
        self, model: str, method: str, *args: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Call ``model.<model>.<method>`` with the session context (last parameter)."""
        self._ensure_session()
        ctx = {**self._context, **(context or {})}
        return self.call(f"model.{model}.{method}", *args, ctx)

    def search(
        self,
        model: str,
        domain: Domain,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
    ) -> list[int]:
        """Return the ids of the records matching ``domain``."""
        return list(self.execute(model, "search", list(domain), offset, limit, order))

    def search_read(
        self, model: str, domain: Domain, fields: Sequence[str], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Return ``fields`` of the records matching ``domain``, ordered by id."""
        order = [("id", "ASC")]
        return list(self.execute(model, "search_read", list(domain), 0, limit, order, list(fields)))

    def search_count(self, model: str, domain: Domain) -> int:
        """Return how many records match ``domain``."""
        return int(self.execute(model, "search_count", list(domain)))

    def read(self, model: str, ids: Sequence[int], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Return ``fields`` of the records ``ids`` (``_timestamp`` reads the edit stamp)."""
        return list(self.execute(model, "read", list(ids), list(fields)))

    def create(self, model: str, vlist: Sequence[Mapping[str, Any]]) -> list[int]:
        """Create records in one transaction and return their ids."""
        return [int(i) for i in self.execute(model, "create", [dict(v) for v in vlist])]

    def write(
        self,
        model: str,
        ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        timestamps: Mapping[int, str] | None = None,
    ) -> None:
        """Write ``values`` on ``ids``.

        Args:
            model: Tryton model name.
            ids: Records to change.
            values: Field values (x2many fields take Tryton commands).
            timestamps: ``_timestamp`` per id as read; Tryton then refuses the write with
                a ``ConflictError`` if any record changed since.
        """
        context = None
        if timestamps:
            context = {"_timestamp": {f"{model},{i}": ts for i, ts in timestamps.items()}}
        self.execute(model, "write", list(ids), dict(values), context=context)

    def delete(self, model: str, ids: Sequence[int]) -> None:
        """Delete the records ``ids``."""
        self.execute(model, "delete", list(ids))

    def xml_id(self, module: str, fs_id: str) -> int:
        """Return the database id of a record shipped by a module (ids differ per database)."""
        return int(self.execute("ir.model.data", "get_id", module, fs_id))

    def run_wizard(self, name: str, steps: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Run wizard ``name`` through ``steps`` of (state to run, view data) in one session."""
        session, _start, _end = self.call(f"wizard.{name}.create", self._context)
        try:
            for state, data in steps:
                self.call(f"wizard.{name}.execute", session, dict(data), state, self._context)
        finally:
            self.call(f"wizard.{name}.delete", session, self._context)

    def check(self) -> TrytonCheck:
        """Prove the server, the database and the company answer; return what was found.

        Raises:
            ConfigError: bad credentials, unknown database or no company.
            TransientError: the server cannot be reached.
        """
        version = str(self.server_call("common.server.version"))
        user_id = self.login()
        company = self.company_id
        row = self.read("company.company", [company], ["rec_name", "currency.code"])[0]
        return TrytonCheck(
            server_version=version,
            database=self.settings.database,
            user_id=user_id,
            company_id=company,
            company_name=str(row["rec_name"]),
            currency=str(row["currency."]["code"]),
        )
