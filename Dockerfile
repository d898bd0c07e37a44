# syntax=docker/dockerfile:1
# Shebao API server. Build:   docker build -t shebao .
#                   Or:      docker compose up --build   (with PostgreSQL, see docker-compose.yml)
# SQLite and libpq are compiled from source (bundled), so the runtime image needs no database client library.

FROM rust:1-bookworm AS builder
WORKDIR /build
COPY . .
# Cache mounts keep the registry and target dir between builds; the binary is copied out of the cache.
# --no-default-features: production carries no synthetic-data or benchmark tooling.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/build/target \
    cargo build --release -p shebao-api --locked --no-default-features \
    && install -m 0755 target/release/shebao /usr/local/bin/shebao

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 shebao \
    && useradd --system --uid 10001 --gid shebao --home-dir /var/lib/shebao --shell /usr/sbin/nologin shebao \
    && mkdir -p /var/lib/shebao/data /var/lib/shebao/keys \
    && chown -R shebao:shebao /var/lib/shebao \
    && chmod 0700 /var/lib/shebao/keys
COPY --from=builder /usr/local/bin/shebao /usr/local/bin/shebao
USER shebao:shebao
WORKDIR /var/lib/shebao
ENV SHEBAO_LISTEN=0.0.0.0:8080 \
    SHEBAO_DATA_DIR=/var/lib/shebao/data \
    SHEBAO_KEY_DIR=/var/lib/shebao/keys
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/shebao"]
CMD ["serve"]
