FROM python:3.11-slim
WORKDIR /srv/safeshare
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system safeshare && mkdir /keys && chown safeshare /keys
USER safeshare
EXPOSE 8000
CMD ["safeshare", "serve", "--host", "0.0.0.0", "--port", "8000"]
