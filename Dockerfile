# Shipyard's own image. Every rendered Tekton step and CronJob runs it, pinned to Shipyard's version
# (platform.shipyard_image = <registry>/base-images/shipyard:<version>).
#
#   docker build -t harbor.example.com/base-images/shipyard:0.1.0 .
#   (or: buildah bud --layers -t harbor.example.com/base-images/shipyard:0.1.0 .)
#
# The first stage builds the wheel from this checkout; the second installs only the wheel, plus the
# tools the steps call: git (versions, tags), Node.js and npm (workspace tests, package publishing),
# pytest (Python services' tests; pyproject's `steps` extra, which `make deps` installs for `ci run`).
FROM docker.io/library/python:3.11.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM docker.io/library/python:3.11.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends git nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl "pytest>=8,<9" && rm -rf /wheels \
 && useradd --uid 1000 --create-home shipyard
USER 1000
WORKDIR /workspace
CMD ["shipyard", "--help"]
