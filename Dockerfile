# The bundled task image: zip-task on debian:bookworm-slim, built offline.
# The binary is built on the host first (scripts/build-task-image does both steps):
#   swift build -c release --static-swift-stdlib --product zip-task
# and the build context is a folder holding just that binary.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcurl4 libarchive13 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY zip-task /usr/local/bin/zip-task
WORKDIR /mnt/efs
ENTRYPOINT ["/usr/local/bin/zip-task"]
