"""The sync process's sender: match reports to the registry and webhook deliveries, drained
from the state file every `OUTBOX_INTERVAL_S` on a thread of their own, so a slow subscriber or
an unreachable registry never holds up list syncing."""

from __future__ import annotations

import logging
import threading

from stopframe.apps.matcher.reports import ReportSender
from stopframe.apps.matcher.sources import REGISTRY_SOURCE
from stopframe.apps.matcher.state import MatcherState
from stopframe.apps.matcher.webhooks import WebhookConfig, WebhookSender
from stopframe.lists.client import RegistryClient

log = logging.getLogger("stopframe.apps.matcher")
OUTBOX_INTERVAL_S = 1.0


class Outbox:
    """Sends what the API workers queued: reports (registry sources only) and webhooks."""

    def __init__(
        self, state: MatcherState, client: RegistryClient | None, hooks: list[WebhookConfig]
    ) -> None:
        self.reports = ReportSender(state, client.report_batch) if client is not None else None
        self.webhooks = WebhookSender(state, hooks) if hooks else None

    def send_once(self) -> None:
        """Send everything due now; failures stay queued with their backoff."""
        if self.reports is not None:
            self.reports.send_pending(REGISTRY_SOURCE)
        if self.webhooks is not None:
            self.webhooks.deliver_due()

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set."""
        while not stop.wait(OUTBOX_INTERVAL_S):
            try:
                self.send_once()
            except Exception:
                log.exception("outbox round failed; retrying")

    def close(self) -> None:
        """Close the webhook client."""
        if self.webhooks is not None:
            self.webhooks.close()
