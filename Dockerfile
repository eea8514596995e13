# Safe Share: the service, its scheduler and its backups (pg_dump) in one image.
# Base images are pinned by version; Python packages come from requirements/app.txt, every file
# checked against its SHA-256 (scripts/lock makes it). Linted by hadolint in the test suite.
FROM python:3.11.14-slim-bookworm

# The PostgreSQL major version of the compose file's `db` service: `safeshare backup` needs a
# pg_dump at least that new (`safeshare check` says so if not). Debian 12's own client is 15, so
# the client comes from PostgreSQL's apt repository, which Debian's postgresql-common sets up with
# the signing key it ships. Raise both together (docker-compose.yml's `db` image too).
ARG PG_MAJOR=16

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# fonts-dejavu-core: the PDF hand-off's font, with the scripts reporters write in (app/handoff).
# Versions of Debian packages are not pinned: the security updates of the release are wanted,
# and PostgreSQL's repository keeps only the newest minor release of each major.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common \
 && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" fonts-dejavu-core \
 && pg_dump --version | grep -q " ${PG_MAJOR}\." \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/safeshare

# Dependencies first (a layer that changes only with the lock), then the project without them.
COPY requirements/app.txt requirements/app.txt
RUN pip install --require-hashes -r requirements/app.txt
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps --no-build-isolation -e .
COPY scripts/schedule /usr/local/bin/safeshare-schedule

# The service runs as its own account, `safeshare` (uid 10001: numeric, so Kubernetes' runAsNonRoot can check it). ./var (the default SQLite database and key ring), /keys
# (compose's key-ring volume) and /backups (compose's backup volume) belong to it, readable by it
# alone, so that `docker run` without compose can write its data; mount a volume on
# /srv/safeshare/var to keep that data.
RUN useradd --system --uid 10001 --user-group --home-dir /srv/safeshare safeshare \
 && mkdir -p /srv/safeshare/var /keys /backups \
 && chown 10001:10001 /srv/safeshare/var /keys /backups \
 && chmod 0700 /srv/safeshare/var /keys /backups
USER 10001:10001
VOLUME ["/srv/safeshare/var"]
EXPOSE 8000

# Ready = serving and the database answers (/readyz); compose declares the same check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["safeshare", "serve", "--host", "0.0.0.0", "--port", "8000"]
