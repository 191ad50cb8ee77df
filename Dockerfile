# QuayWatch: the API, collector, forecaster and alerter in one image (`quaywatch run`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Migrations are read from sql/ beside the quaywatch package (quaywatch/migrations.py), which
    # `pip install .` does not copy: run from the source tree so /app/sql is found.
    PYTHONPATH=/app \
    QUAYWATCH_API_HOST=0.0.0.0

WORKDIR /app
# README.md is the distribution's readme (pyproject); the glob keeps the build going without it.
COPY pyproject.toml README.md* ./
COPY quaywatch ./quaywatch
COPY collector ./collector
COPY forecaster ./forecaster
COPY alerter ./alerter
COPY sql ./sql
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app quaywatch
USER quaywatch

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["sh", "-c", "quaywatch db upgrade && quaywatch db seed && quaywatch run"]
