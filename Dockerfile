# The gateway in a container: `docker compose up -d` (see docker-compose.yml and
# docs/gateway.md). Two stages: the wheel is built with the Rust toolchain, the runtime
# image holds only Python and the installed wheel, and runs as an unprivileged user.
# Note: this file has not been built in the project's own environment (no Docker there).

FROM python:3.12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl build-essential ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# rustc >= 1.89 (rust-version of the workspace).
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
ENV PATH="/root/.cargo/bin:${PATH}"
RUN pip install --no-cache-dir "maturin>=1.5,<2"
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md LICENSE ./
COPY .cargo .cargo
COPY rust rust
COPY python python
RUN maturin build --release --out /dist

FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin gateway \
 && mkdir -p /data && chown gateway /data && chmod 0700 /data
COPY --from=build /dist /dist
RUN pip install --no-cache-dir "$(ls /dist/*.whl)[gateway]" && rm -rf /dist
USER gateway
ENV WHATSAPP_GATEWAY_HOST=0.0.0.0 \
    WHATSAPP_GATEWAY_PORT=8090 \
    WHATSAPP_GATEWAY_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8090
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8090/ready', timeout=4).status == 200 else 1)"
ENTRYPOINT ["whatsapp-client", "gateway"]
