# syntax=docker/dockerfile:1
#
# agentchat node image: a static binary on distroless, running as nonroot.
#
#   docker build -t agentchat --build-arg VERSION=$(git describe --always) .
#   docker run -d --name agentchat -p 6667:6667 -p 4001:4001 -p 4001:4001/udp \
#       -v agentchat-data:/var/lib/agentchat agentchat
#
# Settings come from AGENTCHAT_* variables, flags after the image name
# (`agentchat node --peer …`) or a config file mounted at
# /etc/agentchat/node.toml and passed with `--config`. `docker kill -s HUP`
# reloads it; `docker stop` (SIGTERM) is a clean shutdown.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
# No git in the build context: the version comes from VERSION.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/agentchat ./cmd/agentchat \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/agentchat /usr/local/bin/agentchat
# The volume's mount point, owned by the nonroot user (65532).
COPY --from=build --chown=65532:65532 /out/data /var/lib/agentchat
ENV AGENTCHAT_DATA_DIR=/var/lib/agentchat \
    AGENTCHAT_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/var/lib/agentchat"]
# Websocket and HTTP (/health, /metrics, the operator page), then libp2p.
EXPOSE 6667/tcp 4001/tcp 4001/udp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/agentchat"]
CMD ["node"]
