"""docker-compose.yml, the Dockerfile, the Caddyfile and the lock files, checked without Docker
(there is none in CI).

First what `docker compose config` checks: the file against the Compose Specification's own JSON
schema (as shipped by check-jsonschema) and its `${...}` interpolation. Then what each service
needs to actually work: every SAFESHARE_* name is a real setting and the settings load, the
database password must be given (never a default), the key ring is on a volume, the scheduler
runs `deliver`, `remind`, `purge` and `publish-equality`, each command is a real `safeshare` command, and the image
lets its own account write its data when run without compose. The app is reachable only through
the TLS proxy, whose address alone it trusts; mail goes to a real (catching) server by default;
the health check asks /readyz; every image is pinned by version and the image's pg_dump is of
the database's major version. The Dockerfile passes hadolint and the Caddyfile Caddy's own
adapter; the Dockerfile, scripts/_env.sh and CI install from hash-checked lock files that cover
pyproject.toml.
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
from tests.conftest import CI

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
    env = _environment(_interpolate(_compose(), {**TRIAL_ENV, "SAFESHARE_DOMAIN": "not a name"})["services"]["app"])
    with pytest.raises(SettingsError, match="SAFESHARE_PUBLIC_URL"):
        load_settings(**{k.removeprefix("SAFESHARE_").lower(): v for k, v in env.items()})


def test_services_start_in_order_and_the_volumes_exist() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "app", "scheduler", "proxy", "mailpit"}
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["scheduler"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["app"]["condition"] == "service_healthy"
    for name in ("db", "app"):
        assert services[name]["healthcheck"]["test"]
    used = {m.split(":")[0] for s in services.values() for m in s.get("volumes", []) if not m.startswith("./")}
    assert used == set(compose["volumes"]) == {"pgdata", "keys", "backups", "caddy-data", "caddy-config"}


def test_the_health_check_asks_readyz_which_checks_the_database() -> None:
    check = _compose()["services"]["app"]["healthcheck"]["test"]
    assert "http://127.0.0.1:8000/readyz" in " ".join(check)
    assert "/readyz" in (ROOT / "Dockerfile").read_text().split("HEALTHCHECK", 1)[1]


def test_only_the_tls_proxy_is_reachable_and_only_it_is_trusted() -> None:
    services = _interpolate(_compose(), TRIAL_ENV)["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy", "mailpit"}
    assert sorted(services["proxy"]["ports"]) == ["443:443", "443:443/udp", "80:80"]
    # The mail catcher's page is for this machine alone.
    assert all(p.startswith("127.0.0.1:") for p in services["mailpit"]["ports"])
    proxy_address = services["proxy"]["networks"]["edge"]["ipv4_address"]
    for name in ("app", "scheduler"):
        env = _environment(services[name])
        assert env["SAFESHARE_FORWARDED_ALLOW_IPS"] == proxy_address
        assert env["SAFESHARE_PUBLIC_URL"] == "https://localhost"
        assert "edge" in services[name]["networks"]
    assert services["db"]["networks"] == ["backend"] and _compose()["networks"]["backend"]["internal"] is True
    assert "reverse_proxy app:8000" in (ROOT / "Caddyfile").read_text()


def test_mail_goes_to_a_real_server_by_default() -> None:
    services = _interpolate(_compose(), TRIAL_ENV)["services"]
    env = _environment(services["app"])
    assert (env["SAFESHARE_SMTP_HOST"], env["SAFESHARE_SMTP_PORT"]) == ("mailpit", "1025")
    assert set(services["mailpit"]["networks"]) >= {"backend"}
    assert set(services["app"]["networks"]) & set(services["mailpit"]["networks"])
    given = _environment(_interpolate(_compose(), {**TRIAL_ENV, "SAFESHARE_SMTP_HOST": "relay.example.org"})[
        "services"]["app"])
    assert given["SAFESHARE_SMTP_HOST"] == "relay.example.org"


_PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.-]+)?$")  # name:1.2[.3][-variant]


def test_every_image_is_pinned_by_version() -> None:
    images = [s["image"] for n, s in _compose()["services"].items() if n not in ("app", "scheduler")]
    froms = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert froms and images
    for image in images + froms:
        assert _PINNED.match(image), f"{image} is not pinned to a version"


def test_the_image_has_a_pg_dump_as_new_as_the_database() -> None:
    db_major = int(re.match(r"postgres:(\d+)\.", _compose()["services"]["db"]["image"]).group(1))  # type: ignore[union-attr]
    dockerfile = (ROOT / "Dockerfile").read_text()
    pg_major = re.search(r"^ARG PG_MAJOR=(\d+)$", dockerfile, re.MULTILINE)
    assert pg_major and int(pg_major.group(1)) >= db_major
    assert '"postgresql-client-${PG_MAJOR}"' in dockerfile


def test_the_dockerfile_passes_hadolint() -> None:
    import shutil
    import subprocess

    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).with_name("hadolint"))
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_caddyfile_is_one_caddy_accepts_and_writes_no_access_log() -> None:
    import shutil
    import subprocess

    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (scripts/test installs Debian's)") if not CI else pytest.fail(
            "caddy is required under CI=true (scripts/test installs Debian's)")
    done = subprocess.run([caddy, "adapt", "--config", str(ROOT / "Caddyfile")], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "SAFESHARE_DOMAIN": "safeshare.example.org",
                                           "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    server = config["apps"]["http"]["servers"]["srv0"]
    assert "logs" not in server and "logging" not in config  # no access log: it would hold reporters' addresses
    assert server["listen"] == [":443"] and server["read_header_timeout"] == 10 * 10**9
    assert '"dial":"app:8000"' in done.stdout.replace(" ", "")
    assert server["routes"][0]["match"][0]["host"] == ["safeshare.example.org"]


def test_the_dockerfile_scripts_and_ci_install_from_hash_checked_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements/app.txt" in dockerfile
    assert "--no-deps" in dockerfile.split("requirements/app.txt", 2)[2]
    env_sh = (ROOT / "scripts/_env.sh").read_text()
    assert '--require-hashes -r "$lock"' in env_sh and "lock=requirements/${1:-app}.txt" in env_sh
    assert "_env.sh\" app" in (ROOT / "scripts/run").read_text()
    assert "_env.sh\" test" in (ROOT / "scripts/test").read_text()
    assert (ROOT / ".ci/run").read_text().strip().endswith("exec scripts/test")
    for lock in ("app", "test", "openapi-client"):
        for entry in _locked(ROOT / f"requirements/{lock}.txt").values():
            assert entry[1], f"requirements/{lock}.txt: {entry[0]} has no hash"


def test_the_locks_cover_every_dependency_of_pyproject() -> None:
    """A dependency added to pyproject.toml without `scripts/lock` would make every install fail
    (pip refuses an unhashed requirement); this says which and why, first."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for lock, wanted in (("app", project["dependencies"]),
                         ("test", project["dependencies"] + project["optional-dependencies"]["test"])):
        locked = _locked(ROOT / f"requirements/{lock}.txt")
        for text in wanted:
            req = Requirement(text)
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert name in locked, f"{req.name} is not in requirements/{lock}.txt: run scripts/lock"
            assert req.specifier.contains(locked[name][0], prereleases=True), (
                f"requirements/{lock}.txt has {req.name}=={locked[name][0]}, pyproject asks {req.specifier}: run scripts/lock")
            # uvicorn[standard], psycopg[binary]: the extras' own packages are locked too.
            extras = {"standard": ("httptools", "uvloop", "watchfiles"), "binary": ("psycopg-binary",)}
            for extra in req.extras:
                assert all(p in locked for p in extras[extra]), (req.name, extra)


def _locked(path: Path) -> dict[str, tuple[str, bool]]:
    """name -> (version, has hashes) of a `uv pip compile --generate-hashes` file."""
    out: dict[str, tuple[str, bool]] = {}
    text = path.read_text()
    for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(.*?)(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL):
        out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = (m.group(2), "--hash=sha256:" in m.group(3))
    return out


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
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user and user.group(1) != "0"
    assert f"useradd --system --uid {user.group(1)} --user-group" in dockerfile
    workdir = re.search(r"^WORKDIR (\S+)$", dockerfile, re.MULTILINE)
    assert workdir
    data = f"{workdir.group(1)}/var"  # where the default settings put the database and key ring
    assert Settings.model_fields["database_url"].default == "sqlite:///./var/safeshare.db"
    assert re.search(rf"mkdir -p {re.escape(data)} /keys /backups", dockerfile)
    assert re.search(rf"chown {user.group(1)}:{user.group(2)} {re.escape(data)} /keys /backups", dockerfile)
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
