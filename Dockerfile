# quarantine — signed plant-quarantine certificates.
# Build:  docker build -t quarantine .
# Run:    docker run --rm -p 8000:8000 quarantine          (migrates, then serves on :8000)
#         docker run --rm quarantine verify /app/samples/valid-transport-inter.txt
FROM python:3.11-slim-bookworm

# zbar for the QR decoder fallback, a CJK font for printable certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libzbar0 fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 quarantine
WORKDIR /app
COPY pyproject.toml README.md ./
COPY quarantine ./quarantine
RUN pip install --no-cache-dir . && rm -rf /root/.cache
COPY samples ./samples
COPY docker/entrypoint.sh /usr/local/bin/quarantine-entrypoint

USER quarantine
ENV QUARANTINE_DATA_DIR=/home/quarantine/data \
    PYTHONUNBUFFERED=1

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["quarantine-entrypoint"]
