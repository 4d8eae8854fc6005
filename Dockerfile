# syntax=docker/dockerfile:1
# Build: docker build -t songcommons .
# Run:   docker run -p 8090:8090 -v songcommons-data:/data \
#          -e SONGCOMMONS_GITHUB_CLIENT_ID=… -e SONGCOMMONS_GITHUB_CLIENT_SECRET=… songcommons

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/songcommons . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/songcommons /songcommons
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8090
ENTRYPOINT ["/songcommons"]
CMD ["serve", "--http=0.0.0.0:8090", "--dir=/data"]
