"""A schema-driven fuzzing campaign over the ASGI app, with Schemathesis used as a library.

For every operation of the app's own OpenAPI document, Hypothesis generates requests that fit
the schema (positive) and requests that do not (negative), with a fixed seed, and each answer is
checked: never a 5xx other than the documented 503, a status, content type, headers and body
that the document declares, and every request that breaks the schema refused with a 4xx.
Requests carry a token that can reach the route: a reporter's on `/reporter/` routes, otherwise
a staff user's holding every role. Sign-out routes are left out (they would end the tokens).

Used by `tests/availability/test_fuzz.py` (a small budget) and `bench/availability/fuzz.py` (a
long campaign).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
LEFT_OUT = {"POST /api/v1/auth/logout", "DELETE /api/v1/reporter/session"}


@dataclass
class Campaign:
    examples: int
    operations: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def run(app: Any, *, staff_token: str, reporter_token: str, examples: int, random_seed: int = 12) -> Campaign:
    """Fuzz every operation of `app` with `examples` requests per mode; returns what failed."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    campaign = Campaign(examples=examples)
    quiet = logging.getLogger("safeshare.access"), logging.getLogger("safeshare.errors")
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.label in LEFT_OUT:
                continue
            campaign.operations += 1
            token = reporter_token if "/reporter/" in operation.path else staff_token
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                problem = _fuzz(operation, mode, token, examples, random_seed)
                if problem is not None:
                    campaign.failures[f"{operation.label} ({mode.value})"] = problem
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)
    return campaign


def negative_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's `negative_data_rejection`, counting 413 as a refusal too (a string far over
    its `maxLength` can make the body larger than the body limit)."""
    if response.status_code == 413:
        return True
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


def _fuzz(operation: Any, mode: GenerationMode, token: str, examples: int, random_seed: int) -> str | None:
    checks = CHECKS + ([negative_data_refused] if mode == GenerationMode.NEGATIVE else [])

    @seed(random_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        # A new period's statistics work out their suppression decisions on first asking: seconds on a
        # loaded machine, over schemathesis's 10 s default. Speed is the benches' business, not this test's.
        case.validate_response(case.call(timeout=120), checks=checks)

    try:
        fuzz()
    except Unsatisfiable:
        return None  # nothing to break: an operation without parameters or body has no negative case
    except BaseException as exc:  # noqa: BLE001 - Schemathesis reports failures as exception groups
        if isinstance(exc, KeyboardInterrupt):
            raise
        return str(exc)[:2000]
    return None
