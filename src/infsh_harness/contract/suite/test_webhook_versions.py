"""A task's webhook is the bare ``WebhookPayload`` of the Tasks page whatever ``X-API-Version`` its run
sent: one run in each version, each with a webhook on the session's receiver."""

from __future__ import annotations

import random

import pytest

from infsh_harness.contract.evidence import Evidence
from infsh_harness.contract.journeys import App
from infsh_harness.contract.settings import SuiteSettings
from infsh_harness.contract.target import SuiteClock, SuiteDriver
from infsh_harness.http.driver import TargetError
from infsh_harness.rules.exchange import is_success
from infsh_harness.rules.versions import check_webhook_unversioned
from infsh_harness.spec import Spec
from infsh_harness.webhooks.receiver import WebhookReceiver


@pytest.mark.rule("webhook-unversioned")
def test_webhook_unversioned(
    spec: Spec,
    api: SuiteDriver,
    api_v1: SuiteDriver,
    apps: dict[str, App],
    receiver: WebhookReceiver,
    settings: SuiteSettings,
    clock: SuiteClock,
    rng: random.Random,
    evidence: Evidence,
) -> None:
    app, run_id = apps["complete"], f"{rng.getrandbits(32):08x}"
    urls = {}
    for version, driver in (("1", api_v1), ("2", api)):
        urls[version] = url = receiver.url(f"unversioned-v{version}-{run_id}")
        ran = driver.run(app.name, app.input, webhook=url)
        if not is_success(ran):
            raise TargetError(f"running {app.name} with a webhook in version {version} answered {ran.status_code}")
    for version, url in urls.items():
        got = receiver.wait_for(receiver.token_of(url), count=1, timeout_s=clock.bound(settings.webhook_deadline_s))
        if got:
            evidence.expect("webhook-unversioned", check_webhook_unversioned, spec, got[0].observation, version)
    evidence.minimum("webhook-unversioned", 2, "the webhooks of a version 1 run and of a version 2 run")
    evidence.finish()
