# quarantine — signed plant-quarantine certificates.
# Build:  docker build -t quarantine .
# Run:    docker run --rm quarantine verify /app/samples/valid-transport-inter.txt
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

USER quarantine
ENV QUARANTINE_DATA_DIR=/home/quarantine/data \
    PYTHONUNBUFFERED=1

# Healthy when the trust list loads and a known-good sample verifies.
HEALTHCHECK --interval=60s --timeout=10s --start-period=5s --retries=3 \
  CMD ["quarantine", "verify", "/app/samples/valid-transport-inter.txt"]

ENTRYPOINT ["quarantine"]
CMD ["--help"]
