# ids-inference serving image.
#
#   docker build -t ids-inference .
#   docker run --rm -p 8000:8000 ids-inference
#
# Three stages:
#   build      installs the convert extra, takes the pickle set from models/ in the build context
#              (or trains the embedded default), converts it; the parity gate fails the build
#   serve-env  a virtual environment with the serve extra only
#   runtime    that environment + the converted repository, non-root, under tini
# The runtime image holds no scikit-learn, XGBoost, pandas or pickle: those stay in `build`.
#
# Any Debian-based image with Python >= 3.11 works as the base (apt is used once, for tini):
#   docker build --build-arg BASE_IMAGE=python:3.12-slim-bookworm -t ids-inference .

ARG BASE_IMAGE=python:3.11-slim-bookworm


FROM ${BASE_IMAGE} AS build

# Rows of the synthetic training set used when the build context brings no pickle set.
ARG TRAIN_ROWS=50000

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/build-venv/bin:$PATH

# tini-static is copied into the runtime stage, which then needs no package manager at all.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build/src

# Dependencies first, from pyproject.toml alone, so an edit elsewhere keeps this layer (the empty
# README.md stands in for the real one, which the project's metadata names).
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/build-venv \
    && touch README.md \
    && pip install ".[convert]" \
    && pip uninstall --yes ids-inference

COPY README.md ./
COPY ids_inference ./ids_inference
COPY flows ./flows
COPY models ./models
COPY convert ./convert
COPY server ./server
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps .

# The pickle set the old service shipped; all six or none.
RUN set -eu; \
    found=0; missing=""; \
    for name in random_forest_ids.pkl xgboost_ids.pkl decision_tree_ids.pkl \
                scaler.pkl label_encoder.pkl feature_names.pkl; do \
        if [ -f "models/$name" ]; then found=$((found + 1)); else missing="$missing $name"; fi; \
    done; \
    if [ "$found" -eq 6 ]; then \
        echo "build: converting the pickle set from the build context's models/"; \
    elif [ "$found" -eq 0 ]; then \
        echo "build: models/ holds no pickle set; training the default (--synthetic $TRAIN_ROWS)"; \
        ids-inference train --synthetic "$TRAIN_ROWS" --out models; \
    else \
        echo "build: models/ holds an incomplete pickle set, missing:$missing" >&2; \
        echo "build: add the missing files or remove models/*.pkl to train the default" >&2; \
        exit 1; \
    fi; \
    ids-inference convert --models models --out /build/artifacts


FROM ${BASE_IMAGE} AS serve-env

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

# Only the packages serving needs: the CLI entry point, the server and flows/ (whose column table
# the server reads; its packet readers' libraries are not installed). models/ and convert/ are
# not copied, so no training code (and no pickle next to it) can reach the runtime image.
WORKDIR /src
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/venv \
    && touch README.md \
    && /opt/venv/bin/pip install ".[serve]" \
    && /opt/venv/bin/pip uninstall --yes ids-inference

COPY README.md ./
COPY ids_inference ./ids_inference
COPY flows ./flows
COPY server ./server
# Non-editable; then pip goes (the runtime installs nothing) and so do the dependencies' own test
# suites, which serving never imports (numpy's carry pickle files, kept out of the image).
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && find /opt/venv/lib -depth -type d -path '*/site-packages/*/tests' -exec rm -rf {} +


FROM ${BASE_IMAGE} AS runtime

# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 ids \
    && useradd --system --uid 10001 --gid ids --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ids

# tini as PID 1: forwards SIGTERM to the server (whose graceful shutdown then runs) and reaps
# orphaned worker processes. Baked in rather than `docker run --init`, which Kubernetes lacks.
COPY --from=build /usr/bin/tini-static /usr/local/bin/tini
COPY --from=serve-env /opt/venv /opt/venv
# Owned by root and not writable by the server user: the baked repository is read-only.
COPY --from=build /build/artifacts /app/artifacts
COPY scripts/healthcheck.py /usr/local/bin/ids-healthcheck

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ARTIFACTS_PATH=/app/artifacts \
    IDS_HOST=0.0.0.0 \
    IDS_PORT=8000

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# No curl in the image: the check is a standard-library script against the readiness route.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "/usr/local/bin/ids-healthcheck"]

ENTRYPOINT ["/usr/local/bin/tini", "--"]
CMD ["ids-inference", "serve"]

# Last, so a new revision or date re-runs no step above.
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="ids-inference" \
      org.opencontainers.image.description="ONNX Runtime inference server for CICIDS2017 network intrusion detection models" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
