# The app's image, for several replicas on one PostgreSQL (see compose.yaml and the README's "Team deployment").
# No secret is baked in: APP_MASTER_KEY, STREAMLIT_SERVER_COOKIE_SECRET, APP_TOKEN_KEY and DATABASE_URL come from
# the environment the container is started with.

# Build stage: llama-cpp-python compiles from source, so the compiler lives here and never in the runtime image.
FROM python:3.11-slim-bookworm AS build

# Debian packages are not pinned to a version (hadolint's DL3008): bookworm's security updates replace the exact
# version, which would then no longer install; the release itself (the base image's tag) is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

# llama.cpp would tune itself to the building machine's CPU (-march=native) and could then crash elsewhere with an
# illegal instruction: build for any x86-64 CPU with AVX2 (2013 on) instead; override for other machines.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CMAKE_ARGS=${LLAMA_CMAKE_ARGS}

RUN python -m venv /opt/venv
WORKDIR /build
COPY requirements.txt constraints.txt ./
# torch==2.13.0 from PyTorch's CPU index: the CPU build (2.13.0+cpu) satisfies the pin, where PyPI's would pull
# gigabytes of CUDA libraries.
RUN /opt/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \
    -r requirements.txt -c constraints.txt

# Runtime stage: the virtual environment and the app, no compiler.
FROM python:3.11-slim-bookworm

# libgomp1: the OpenMP runtime llama.cpp was linked against (torch's wheel brings its own).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --create-home --home-dir /home/app --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .
RUN mkdir -p /app/data && chown 10001:10001 /app/data

# The port and address `make run` uses, as settings, so the HEALTHCHECK below follows a changed port.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_DATA_DIR=/app/data \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0

USER 10001:10001
# Local models and the embedded setup's files; a team deployment keeps its data in PostgreSQL, and every replica
# mounts the same volume here so that a model downloaded by one is found by the others.
VOLUME ["/app/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('STREAMLIT_SERVER_PORT', '8501') + '/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "asgi.py"]
