FROM python:3.11-slim
WORKDIR /srv/safeshare
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY scripts/schedule /usr/local/bin/safeshare-schedule
# The service runs as its own account. ./var (the default SQLite database and key ring) and /keys
# (compose's key-ring volume) belong to it, readable by it alone, so that `docker run` without
# compose can write its data; mount a volume on /srv/safeshare/var to keep that data.
RUN pip install --no-cache-dir -e . \
 && useradd --system --home-dir /srv/safeshare safeshare \
 && mkdir -p /srv/safeshare/var /keys \
 && chown safeshare /srv/safeshare/var /keys \
 && chmod 0700 /srv/safeshare/var /keys
USER safeshare
VOLUME ["/srv/safeshare/var"]
EXPOSE 8000
CMD ["safeshare", "serve", "--host", "0.0.0.0", "--port", "8000"]
