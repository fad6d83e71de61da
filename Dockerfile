# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone in an empty image as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/estatecrm ./server \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/estatecrm /estatecrm
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /
# The image has no /tmp: uploads in flight go next to the data (a volume).
ENV ADDR=:8080 UPLOAD_DIR=/data/uploads
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/estatecrm", "healthcheck"]
ENTRYPOINT ["/estatecrm"]
CMD ["serve"]
