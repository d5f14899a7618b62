"""Reporting a run that failed after its retries: one JSON POST to a webhook.

    {"event": "job_failed", "job": "nightly-applications", "run_id": 42,
     "status": "failed", "attempts": 4, "error": "...", "scheduled_for": "...",
     "started_at": "...", "ended_at": "...", "host": "batch-1", "model": "loan-approval:3"}

Most alerting tools (Slack and Teams incoming webhooks through a relay, Alertmanager-style
receivers, PagerDuty Events through a small adapter, a plain HTTP endpoint) accept a POST
of JSON. The report is best-effort: a webhook that is down, slow or refuses is logged
and never stops the scheduler; the run's record in the registry is the source of truth.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

from modelport.registry import JobRun
from modelport.settings import modelport_version

__all__ = ["failure_report", "post_report"]

logger = logging.getLogger("modelport.schedule")


def failure_report(run: JobRun) -> dict[str, Any]:
    """The document a webhook receives for a run that did not succeed."""
    data = run.to_dict()
    return {
        "event": "job_failed",
        "job": run.job,
        "run_id": run.id,
        "status": run.status.value,
        "attempts": run.attempts,
        "error": run.error,
        "scheduled_for": data["scheduled_for"],
        "started_at": data["started_at"],
        "ended_at": data["ended_at"],
        "host": run.host,
        "model": run.model,
    }


def post_report(url: str, report: dict[str, Any], timeout: float) -> bool:
    """POST ``report`` as JSON to ``url``; False (and a warning logged) if that failed."""
    request = urllib.request.Request(
        url,
        data=orjson.dumps(report),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"modelport/{modelport_version()}",
        },
    )
    parts = urllib.parse.urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname}"  # paths and queries often hold a token
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only, checked on load)
            response.read(65_536)
    except urllib.error.HTTPError as exc:
        logger.warning(
            "webhook %s answered %s %s for job %s", shown, exc.code, exc.reason, report.get("job")
        )
        return False
    except Exception as exc:  # a broken endpoint (bad status line, cut body) must never stop
        reason = getattr(exc, "reason", exc)  # the scheduler: log it, carry on
        logger.warning("webhook %s failed for job %s: %s", shown, report.get("job"), reason)
        return False
    logger.info("reported the failure of job %s to %s", report.get("job"), shown)
    return True
