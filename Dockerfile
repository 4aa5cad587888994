# For builders with a Docker engine. Without one, `make image` writes the same
# image (static binary, non-root, CA certificates) as an OCI layout.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/keyward/keyward/internal/version.version=${VERSION} -X github.com/keyward/keyward/internal/version.commit=${COMMIT}" \
    -o /keyward ./cmd/keyward

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /keyward /keyward
USER 65532:65532
EXPOSE 8080 8081 8082
ENTRYPOINT ["/keyward"]
CMD ["controller"]
