"""Use case: the main job on the embedded store. A synthetic population and its history,
the example journeys, a simulated month on dry-run channels, and what happened."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator.application.running import send_chosen
from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.audit.summary import population_summary
from orchestrator.campaigns.runtime.runner import RunReport, run_until
from orchestrator.campaigns.runtime.versions import PublishOutcome, publish
from orchestrator.demo.population import DEMO_NOW, generate
from orchestrator.errors import UsageError
from orchestrator.ingest.service import IngestReport, ingest_path
from orchestrator.projections.contact_directory import message_rows
from orchestrator.projections.runner import open_directory

REPOSITORY = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class DemoOutcome:
    touchpoints: int
    ingest: IngestReport
    published: list[PublishOutcome]
    month_start: datetime
    month_end: datetime
    run: RunReport
    sent: Any
    population: dict[str, Any]
    messages: list[dict[str, Any]]


def demo_material(templates: str | None, working_dir: Path) -> tuple[list[str], str]:
    """The example journeys and templates: beside the working directory, else the repo's."""
    for root in (working_dir, REPOSITORY):
        journeys = sorted(str(p) for p in (root / "examples" / "journeys").glob("*.yaml"))
        folder = Path(templates) if templates else root / "templates"
        if journeys and folder.is_dir():
            return journeys, str(folder)
    raise UsageError("the demo needs examples/journeys/*.yaml and templates/ (run it from "
                     "the repository)")


def run_demo(app: Any, *, contacts: int, seed: int, templates: str | None,
             on_generated: Callable[[int], None] = lambda _: None,
             progress: Callable[[int, int], None] | None = None) -> DemoOutcome:
    journeys, folder = demo_material(templates, Path.cwd())
    app = replace(app, settings=replace(app.settings, templates_dir=folder))
    month_start = DEMO_NOW - timedelta(days=30)
    thresholds = app.settings.thresholds
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "population.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            count = generate(out, contacts=contacts, seed=seed)
        on_generated(count)
        with store_of(app) as store:
            report = ingest_path(store, path, recorded_at=app.now(), progress=progress)
            # The history before the month is caught up first, then the journeys go live:
            # what an operator does after importing a CRM's past.
            run_until(store, month_start, recorded_at=app.now(), templates_dir=folder,
                      thresholds=thresholds)
            published = publish(store, journeys, folder, author="demo", now=app.now())
            run = run_until(store, DEMO_NOW, recorded_at=app.now(), templates_dir=folder,
                            thresholds=thresholds, policy=app.settings.policy,
                            channels=app.settings.channels_in_force)
            sent = send_chosen(app, store, run.unsent)
            finish_write(app, store)
            population = population_summary(store, DEMO_NOW, thresholds)
            rows = message_rows(open_directory(store).view)
    return DemoOutcome(count, report, published, month_start, DEMO_NOW, run, sent,
                       population, rows)
