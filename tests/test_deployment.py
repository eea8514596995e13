"""docker-compose.yml and the Dockerfile, checked without Docker (there is none in CI).

First what `docker compose config` checks: the file against the Compose Specification's own JSON
schema (as shipped by check-jsonschema) and its `${...}` interpolation. Then what each service
needs to actually work: every SAFESHARE_* name is a real setting and the settings load, the
database password must be given (never a default), the key ring is on a volume, the scheduler
runs `deliver`, `remind`, `purge` and `publish-equality`, each command is a real `safeshare` command, and the image
lets its own account write its data when run without compose.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from app.cli import cli
from app.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text())
    return loaded


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, applied to every string."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        given = env.get(m["name"]) or None
        if given is not None:
            return given
        if m["op"] == ":?":
            raise ValueError(f"{m['name']}: {m['arg']}")
        return m["arg"] if m["op"] == ":-" else ""

    return _VAR.sub(one, value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _commands() -> set[str]:
    names = {info.name or info.callback.__name__.replace("_", "-") for info in cli.registered_commands if info.callback}
    for group in cli.registered_groups:
        assert group.typer_instance is not None
        names |= {i.name or i.callback.__name__.replace("_", "-") for i in group.typer_instance.registered_commands if i.callback}
    return names


TRIAL_ENV = {"POSTGRES_PASSWORD": "a-real-secret"}


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text())
    jsonschema.validate(_compose(), schema, cls=jsonschema.Draft202012Validator)


def test_the_database_password_must_be_given() -> None:
    text = COMPOSE.read_text()
    uses = [m for m in _VAR.finditer(text) if m["name"] == "POSTGRES_PASSWORD"]
    assert len(uses) == 2 and all(m["op"] == ":?" for m in uses)  # the database and the app's URL
    assert "change-me" not in text
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD: set POSTGRES_PASSWORD in .env"):
        _interpolate(_compose(), {})


def test_app_and_scheduler_get_settings_that_load(tmp_path: Path) -> None:
    services = _interpolate(_compose(), TRIAL_ENV)["services"]
    known = {"SAFESHARE_" + name.upper() for name in Settings.model_fields}
    for name in ("app", "scheduler"):
        env = _environment(services[name])
        assert set(env) <= known, set(env) - known  # no misspelt setting
        for needed in ("SAFESHARE_DATABASE_URL", "SAFESHARE_KEY_FILE", "SAFESHARE_PUBLIC_URL", "SAFESHARE_SMTP_HOST",
                       "SAFESHARE_SMTP_PORT", "SAFESHARE_SMTP_FROM"):
            assert needed in env, (name, needed)
        settings = load_settings(**{k.removeprefix("SAFESHARE_").lower(): v for k, v in env.items()})
        assert settings.database_url == "postgresql+psycopg://safeshare:a-real-secret@db/safeshare"
        # The key ring is on a volume the service keeps, not in the container.
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services[name]["volumes"]}
        assert str(settings.key_file.parent) in mounts and mounts[str(settings.key_file.parent)] == "keys"
    assert _environment(services["app"]) == _environment(services["scheduler"])


def test_a_bad_public_url_in_env_would_stop_the_service() -> None:
    env = _environment(_interpolate(_compose(), {**TRIAL_ENV, "SAFESHARE_PUBLIC_URL": "not a url"})["services"]["app"])
    with pytest.raises(SettingsError, match="SAFESHARE_PUBLIC_URL"):
        load_settings(**{k.removeprefix("SAFESHARE_").lower(): v for k, v in env.items()})


def test_services_start_in_order_and_the_volumes_exist() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "app", "scheduler"}
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["scheduler"]["depends_on"]["app"]["condition"] == "service_healthy"
    for name in ("db", "app"):
        assert services[name]["healthcheck"]["test"]
    used = {m.split(":")[0] for s in services.values() for m in s.get("volumes", [])}
    assert used == set(compose["volumes"]) == {"pgdata", "keys"}


def test_every_command_the_services_run_is_a_safeshare_command() -> None:
    services = _compose()["services"]
    commands = _commands()
    app = services["app"]["command"]
    assert app[:2] == ["safeshare", "serve"] and "serve" in commands
    assert {"--host", "--port", "--workers"} <= set(app)
    # The scheduler runs scripts/schedule, installed into the image by the Dockerfile.
    assert services["scheduler"]["command"] == ["safeshare-schedule"]
    assert "COPY scripts/schedule /usr/local/bin/safeshare-schedule" in (ROOT / "Dockerfile").read_text()
    scheduled = re.findall(r"^\s*safeshare (\w[\w-]*)", (ROOT / "scripts/schedule").read_text(), re.MULTILINE)
    assert set(scheduled) == {"deliver", "remind", "purge", "publish-equality"}
    assert set(scheduled) <= commands


def test_the_image_lets_its_own_account_write_its_data() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user and user.group(1) != "root"
    workdir = re.search(r"^WORKDIR (\S+)$", dockerfile, re.MULTILINE)
    assert workdir
    data = f"{workdir.group(1)}/var"  # where the default settings put the database and key ring
    assert Settings.model_fields["database_url"].default == "sqlite:///./var/safeshare.db"
    assert re.search(rf"mkdir -p {re.escape(data)} /keys", dockerfile)
    assert re.search(rf"chown {user.group(1)} {re.escape(data)} /keys", dockerfile)
    assert f'VOLUME ["{data}"]' in dockerfile


def test_the_schedule_runs_each_command_and_stops_cleanly(tmp_path: Path) -> None:
    import os
    import subprocess

    calls = tmp_path / "calls"
    fake = tmp_path / "bin"
    fake.mkdir()
    # A `safeshare` that notes what it was asked (and fails at `remind`, which must not stop the
    # round), and a `sleep` that ends the first round by stopping the schedule as `docker stop` would.
    (fake / "safeshare").write_text(f'#!/bin/sh\necho "$1" >> {calls}\n[ "$1" != remind ]\n')
    (fake / "sleep").write_text("#!/bin/sh\nkill -TERM $PPID\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    proc = subprocess.run([str(ROOT / "scripts/schedule")], env={**os.environ, "PATH": f"{fake}:/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert calls.read_text().split() == ["deliver", "remind", "purge", "publish-equality"]
    assert proc.stderr.strip() == "schedule: remind failed; it is tried again in an hour"
