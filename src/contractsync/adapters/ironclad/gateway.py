"""``IroncladContractSource``: the ContractSource port over Ironclad workflows."""

from __future__ import annotations

import time

import httpx

from contractsync.adapters.ironclad.client import IroncladClient
from contractsync.adapters.ironclad.config import IroncladSettings
from contractsync.adapters.ironclad.mapping import WORKFLOW, sourced_contract_from_workflow
from contractsync.adapters.ironclad.payloads import renamed
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.systems import Page, SourcedContract, SystemHealth


def _cursor(page: int, size: int) -> str:
    return f"page:{page}:{size}"


def _read_cursor(cursor: str) -> tuple[int, int]:
    kind, _, rest = cursor.partition(":")
    page, _, size = rest.partition(":")
    if kind != "page" or not page.isdigit() or not size.isdigit() or not 1 <= int(size) <= 100:
        raise DataError(
            "The listing cursor is not an Ironclad page cursor.",
            code="ironclad.cursor_invalid",
            remediation="Start the listing again without a cursor.",
        )
    return int(page), int(size)


class IroncladContractSource:
    """The CLM role over one Ironclad company.

    One call is one attempt; the caller (the workflow engine) retries transient errors.
    Reads only: the hub never writes to the CLM.

    Args:
        client: The company's API client.
        settings: The company's settings (attribute renames, listed statuses, page size).
        system: The configured system name used in refs.
    """

    def __init__(
        self, client: IroncladClient, settings: IroncladSettings, *, system: str = "ironclad"
    ) -> None:
        self.system = system
        self._client = client
        self._settings = settings

    @classmethod
    def connect(
        cls,
        settings: IroncladSettings,
        *,
        system: str = "ironclad",
        transport: httpx.BaseTransport | None = None,
    ) -> IroncladContractSource:
        """Build the source and its client (nothing is sent until the first call)."""
        return cls(
            IroncladClient(settings, system=system, transport=transport), settings, system=system
        )

    def fetch_contract(self, ref: ExternalRef) -> SourcedContract:
        """Read the workflow ``ref.id`` and map its attributes to the canonical model.

        Raises:
            DataError: Ironclad does not know the workflow (``remote.not_found``), or an
                attribute is missing or invalid (``ironclad.attribute_*`` naming it).
            TransientError, ConfigError: as the port says.
        """
        workflow = self._client.workflow(ref.id)
        if self._settings.attribute_names:
            attributes = renamed(workflow.attributes, self._settings.attribute_names)
            workflow = workflow.model_copy(update={"attributes": attributes})
        return sourced_contract_from_workflow(workflow, system=self.system)

    def list_contracts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Workflows in the configured statuses, oldest launch first, ``limit`` per page.

        Ironclad pages by number: a workflow launched while a listing runs may shift the
        pages, so reconciliation treats the listing as a hint and fetches each ref anyway.
        A change order is a workflow of its own: the same contract id may be listed once
        per version (reconciliation groups them by contract id).
        """
        if cursor is None:
            page, size = 0, max(1, min(limit, self._settings.page_size))
        else:
            page, size = _read_cursor(cursor)
        found = self._client.workflows(
            page=page, page_size=size, statuses=self._settings.list_statuses
        )
        refs = tuple(ExternalRef(system=self.system, kind=WORKFLOW, id=w.id) for w in found.items)
        has_more = (page + 1) * size < found.count and bool(found.items)
        return Page(items=refs, next_cursor=_cursor(page + 1, size) if has_more else None)

    def verification_key(self) -> str:
        """The PEM key Ironclad signs webhooks with (for the ingress source's settings)."""
        return self._client.verification_key()

    def check(self) -> SystemHealth:
        """Authenticate and read one page of workflows; never raises."""
        started = time.perf_counter()
        try:
            found = self._client.workflows(
                page=0, page_size=1, statuses=self._settings.list_statuses
            )
        except ContractSyncError as error:
            return SystemHealth(system=self.system, ok=False, detail=error.message)
        elapsed = (time.perf_counter() - started) * 1000
        return SystemHealth(
            system=self.system,
            ok=True,
            latency_ms=round(elapsed, 1),
            version=self._settings.api_path.rsplit("/", 1)[-1],
            detail=f"{found.count} workflows in {', '.join(self._settings.list_statuses)}",
        )


__all__ = ["IroncladContractSource"]
