"""``DocuSignSignatureSource``: the SignatureSource port over DocuSign eSignature envelopes."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx

from contractsync.adapters.docusign.client import DocuSignClient
from contractsync.adapters.docusign.config import DocuSignSettings
from contractsync.adapters.docusign.mapping import ENVELOPE, signature_request_from_envelope
from contractsync.adapters.docusign.payloads import Envelope, EnvelopePage
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.systems import Page, SignatureRequest, SystemHealth


def _read_cursor(cursor: str) -> tuple[int, str]:
    position, _, since = cursor.partition("@")
    if not position.isdigit() or len(since) != 10:
        raise DataError(
            "The listing cursor is not a DocuSign position cursor.",
            code="docusign.cursor_invalid",
            remediation="Start the listing again without a cursor.",
        )
    return int(position), since


class DocuSignSignatureSource:
    """The e-signature role over one DocuSign account. Reads only.

    Args:
        client: The account's REST client.
        settings: The account's settings (contract field, listing window and statuses).
        system: The configured system name used in refs.
        today: The current date (the listing window starts ``list_since_days`` before it).
    """

    def __init__(
        self,
        client: DocuSignClient,
        settings: DocuSignSettings,
        *,
        system: str = "docusign",
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        self.system = system
        self._client = client
        self._settings = settings
        self._today = today

    @classmethod
    def connect(
        cls,
        settings: DocuSignSettings,
        *,
        system: str = "docusign",
        transport: httpx.BaseTransport | None = None,
    ) -> DocuSignSignatureSource:
        """Build the source and its client (nothing is sent until the first call)."""
        client = DocuSignClient(settings, system=system, transport=transport)
        return cls(client, settings, system=system)

    def fetch_signature(self, ref: ExternalRef) -> SignatureRequest:
        """Read the envelope with its custom fields and map it.

        Raises:
            DataError: unknown envelope (``vendor_code`` ``ENVELOPE_DOES_NOT_EXIST``) or no
                contract id in the configured custom field (names it).
            TransientError, ConfigError: as the port says.
        """
        raw = self._client.get_json(
            f"/envelopes/{quote(ref.id, safe='')}", params={"include": "custom_fields"}
        )
        return signature_request_from_envelope(
            Envelope.model_validate(raw),
            system=self.system,
            contract_field=self._settings.contract_field,
        )

    def list_signatures(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Envelopes in the configured statuses changed within the window, ``limit`` per page.

        The cursor pins the window's start, so a listing that spans midnight stays one listing.
        """
        if cursor is None:
            since = (self._today() - dt.timedelta(days=self._settings.list_since_days)).isoformat()
            position = 0
        else:
            position, since = _read_cursor(cursor)
        params = {
            "from_date": since,
            "status": ",".join(self._settings.list_statuses),
            "start_position": str(position),
            "count": str(max(1, min(limit, 1000))),
        }
        page = EnvelopePage.model_validate(self._client.get_json("/envelopes", params=params))
        refs = tuple(
            ExternalRef(system=self.system, kind=ENVELOPE, id=e.envelope_id) for e in page.envelopes
        )
        after = position + len(refs)
        has_more = bool(refs) and (page.next_uri is not None or after < page.total_set_size)
        return Page(items=refs, next_cursor=f"{after}@{since}" if has_more else None)

    def check(self) -> SystemHealth:
        """Authenticate, list one envelope and report the hourly allowance left; never raises."""
        started = time.perf_counter()
        try:
            self.list_signatures(cursor=None, limit=1)
        except ContractSyncError as error:
            return SystemHealth(system=self.system, ok=False, version="v2.1", detail=error.message)
        left = self._client.remaining
        return SystemHealth(
            system=self.system,
            ok=True,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            version="v2.1",
            detail=f"{left if left is not None else 'unknown'} API calls left this hour",
        )


__all__ = ["DocuSignSignatureSource"]
