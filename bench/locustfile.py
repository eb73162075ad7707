"""The load scenarios, for ``locust --headless`` (started by ``python -m bench.run``).

``BENCH_SCENARIO`` picks one; ``BENCH_PLAN`` names the JSON file ``bench.run`` writes (signed-in
sessions, the subjects each coordinator may enter, the forms to save). Requests go to 127.0.0.1
only. Requests named ``setup: ...`` prepare a user and are left out of the figures.

``BENCH_ARRIVAL`` says how the mixed workload's people start: ``spread`` (the default), each at
a random point of their think time, as 1,000 people already at work are; ``burst``, each with
their first task the moment locust spawns them (100 a second: 1,000 people arriving in 10 s).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, task

from bench.design import new_values

SCENARIO = os.environ.get("BENCH_SCENARIO", "ceiling")
ARRIVAL = os.environ.get("BENCH_ARRIVAL", "spread")
PLAN: dict[str, Any] = {}
if os.path.exists(os.environ.get("BENCH_PLAN", "")):
    with open(os.environ["BENCH_PLAN"], encoding="utf-8") as plan_file:
        PLAN = json.load(plan_file)
LOCK = re.compile(r'name="lock" value="(\d*)"')
HTMX = {"HX-Request": "true"}
_numbers = itertools.count()


def form_path(subject: str, visit: str, form: str) -> str:
    return f"/{PLAN['tenant']}/{PLAN['study']}/subjects/{subject}/{visit}/{form}/"


class Session:
    """One simulated person: a signed-in session (shared by the people of one account)."""

    def __init__(self, account: dict[str, Any]) -> None:
        self.cookie = account["cookie"]
        self.csrf = account["csrf"]

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Cookie": self.cookie, **(extra or {})}


class Entering:
    """Saving one form of one subject again and again, as its page's lock allows."""

    def __init__(self, user: FastHttpUser, session: Session, target: dict[str, str]) -> None:
        self.user, self.session = user, session
        self.path = form_path(target["subject"], target["visit"], target["form"])
        self.rng = random.Random(target["subject"])
        self.lock: str | None = None  # None: not known; "": the form was never saved

    def open(self, name: str) -> None:
        with self.user.client.get(
            self.path, headers=self.session.headers(), name=name, catch_response=True
        ) as response:
            found = LOCK.search(response.text or "")
            if response.status_code != 200 or found is None:
                response.failure(f"form page: {response.status_code}")
                self.lock = None
                return
            self.lock = found.group(1)

    def save(self) -> None:
        assert self.lock is not None
        data = new_values(PLAN["items"], self.rng) | {
            "lock": self.lock,
            "csrf_token": self.session.csrf,
            "reason": "",
        }
        with self.user.client.post(
            self.path + "@@save",
            data=data,
            headers=self.session.headers(HTMX),
            name="eCRF save (50 items)",
            catch_response=True,
        ) as response:
            if response.status_code != 204 or not response.headers.get("HX-Redirect"):
                response.failure(f"save: {response.status_code}")
                self.lock = None
                return
            # a save raises the lock by one; the first one of a form may raise it twice (the SDV
            # status it sets is flushed before the form's own update): read it from the page then
            self.lock = str(int(self.lock) + 1) if self.lock else None


def _account(kind: str, number: int) -> dict[str, Any]:
    accounts = PLAN[kind]
    return accounts[number % len(accounts)]


class Ceiling(FastHttpUser):
    """The bare view, for the ratio."""

    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/hello", name="bare hello view")


class FormPage(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.account = _account("coordinators", next(_numbers))
        self.session = Session(self.account)

    @task
    def page(self) -> None:
        subject = random.choice(self.account["subjects"])
        form = random.choice(PLAN["read_forms"])
        self.client.get(
            form_path(subject, PLAN["read_visit"], form),
            headers=self.session.headers(),
            name="eCRF form page (50 items)",
        )


class FormSave(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        number = next(_numbers)
        account = _account("coordinators", number)
        target = account["targets"][number // len(PLAN["coordinators"])]
        self.entering = Entering(self, Session(account), target | {"form": PLAN["save_form"]})
        self.entering.open("setup: form page")

    @task
    def save(self) -> None:
        if self.entering.lock is None:
            self.entering.open("setup: form page")
        self.entering.save()


def _dashboard(user: FastHttpUser, session: Session, query: str, name: str) -> None:
    user.client.get(
        f"/{PLAN['tenant']}/{PLAN['study']}/subjects/@@dashboard{query}",
        headers=session.headers(),
        name=name,
    )


class Dashboard(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.session = Session(_account("monitors", next(_numbers)))
        _arrive(self)

    @task
    def first_page(self) -> None:
        _dashboard(self, self.session, "", "dashboard first page (10,000 subjects)")


class DashboardFiltered(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.session = Session(_account("monitors", next(_numbers)))
        _arrive(self)

    @task
    def filtered(self) -> None:
        site = random.choice(PLAN["sites"])
        _dashboard(
            self,
            self.session,
            f"?site={site}&form_status=in_progress",
            "dashboard filtered page (site, forms in progress)",
        )


def _arrive(user: FastHttpUser) -> None:
    """Start a person of the mixed workload as ``BENCH_ARRIVAL`` says."""
    if ARRIVAL == "spread":
        gevent.sleep(random.uniform(0, user.wait_time()))


class Coordinator(FastHttpUser):
    """Mixed workload: a coordinator opens the site's dashboard, then a form, types, saves."""

    weight = 4
    wait_time = between(10, 30)

    def on_start(self) -> None:
        number = next(_numbers)
        account = _account("coordinators", number)
        self.account, self.session = account, Session(account)
        target = account["targets"][number // len(PLAN["coordinators"]) + 1]
        self.entering = Entering(self, self.session, target | {"form": PLAN["mixed_form"]})
        self.site = random.choice(account["sites"])
        _arrive(self)

    @task(2)
    def browse(self) -> None:
        _dashboard(self, self.session, f"?site={self.site}", "mixed: site dashboard")
        subject = random.choice(self.account["subjects"])
        self.client.get(
            form_path(subject, PLAN["read_visit"], random.choice(PLAN["read_forms"])),
            headers=self.session.headers(),
            name="mixed: form page",
        )

    @task(1)
    def enter(self) -> None:
        self.entering.open("mixed: form page (to enter)")
        if self.entering.lock is not None:
            self.entering.save()


class Monitor(FastHttpUser):
    """Mixed workload: a monitor pages through the dashboard, filters it, reads forms."""

    weight = 1
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.session = Session(_account("monitors", next(_numbers)))
        _arrive(self)

    @task(3)
    def page(self) -> None:
        number = random.randint(1, 20)
        _dashboard(self, self.session, f"?page={number}", "mixed: dashboard page")

    @task(2)
    def filtered(self) -> None:
        site = random.choice(PLAN["sites"])
        _dashboard(self, self.session, f"?site={site}&status=included", "mixed: dashboard filtered")

    @task(2)
    def read(self) -> None:
        coordinator = random.choice(PLAN["coordinators"])
        subject = random.choice(coordinator["subjects"])
        self.client.get(
            form_path(subject, PLAN["read_visit"], random.choice(PLAN["read_forms"])),
            headers=self.session.headers(),
            name="mixed: form page",
        )


SCENARIOS = {
    "ceiling": [Ceiling],
    "form": [FormPage],
    "save": [FormSave],
    "dashboard": [Dashboard],
    "dashboard-filtered": [DashboardFiltered],
    "mixed": [Coordinator, Monitor],
}


def _only(scenario: str) -> None:
    """Locust runs every concrete user class it finds: keep those of the chosen scenario."""
    for name, classes in SCENARIOS.items():
        for user_class in classes:
            user_class.abstract = name != scenario


_only(SCENARIO)
