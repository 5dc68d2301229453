import { strict as assert } from 'node:assert';
import { findImageUses } from '../../../src/core/images/imageUses';
import { assertPointsAtReferences, lines, references, writtenAt } from './support';

describe('image uses: Dockerfile', () => {
  it('reports the base images of a multi-stage build with global ARG defaults substituted, not stages or scratch', () => {
    const text = lines(
      '# syntax=docker/dockerfile:1.7',
      'ARG GO_VERSION=1.22',
      'ARG ALPINE=3.20',
      'ARG REGISTRY=ghcr.io/acme',
      'ARG RUNTIME_TAG=${ALPINE}-slim',
      '',
      'FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine${ALPINE} AS Build',
      'ARG TARGETOS TARGETARCH',
      'WORKDIR /src',
      'RUN --mount=type=cache,target=/go/pkg/mod go mod download',
      'RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app',
      '',
      'FROM build AS test',
      'RUN go test ./...',
      '',
      'FROM BUILD AS lint',
      '',
      'from $REGISTRY/runtime:$RUNTIME_TAG as runtime-base',
      'RUN apk add --no-cache ca-certificates',
      '',
      'FROM scratch AS export',
      'COPY --from=build /out/app /app',
      '',
      'FROM gcr.io/distroless/static-debian12:nonroot',
      'COPY --from=runtime-base /etc/ssl/certs /etc/ssl/certs',
      'COPY --from=Build /out/app /app',
      'ENTRYPOINT ["/app"]',
    );
    const uses = findImageUses('Dockerfile', text);
    assert.deepEqual(references(uses), ['golang:1.22-alpine3.20', 'ghcr.io/acme/runtime:3.20-slim', 'gcr.io/distroless/static-debian12:nonroot']);
    assert.deepEqual(uses.map((u) => [u.line, u.kind]), [[6, 'dockerfile'], [17, 'dockerfile'], [23, 'dockerfile']]);
    // Substituted references point at the word as written.
    assert.equal(writtenAt(text, uses[0]), 'golang:${GO_VERSION}-alpine${ALPINE}');
    assert.equal(writtenAt(text, uses[1]), '$REGISTRY/runtime:$RUNTIME_TAG');
    assert.equal(writtenAt(text, uses[2]), 'gcr.io/distroless/static-debian12:nonroot');
  });

  it('leaves out references that need a build arg without a literal default, and applies ${VAR:-default}', () => {
    const text = lines(
      'ARG BASE',
      'ARG VARIANT',
      'ARG TAG=1.0',
      'ARG EMPTY=',
      'FROM ${BASE}',
      'FROM ${BASE:-debian:bookworm-slim}',
      'FROM $BASE',
      'FROM node:${TAG}-${VARIANT}',
      'FROM node:${TAG}${VARIANT:+-$VARIANT}',
      'FROM python:3.12${EMPTY:-}-slim',
      'FROM ${EMPTY:-alpine:3.19}',
      'FROM ${EMPTY-alpine:3.18}',
      'FROM node:20${VARIANT:--$FLAVOUR}',
      'FROM alpine:${TARGETARCH}',
      'FROM alpine:${TARGETARCH:-3.20}',
      'FROM ${UNDECLARED}',
      'FROM ubuntu:${TAG:?required}',
      'FROM ubuntu:${VARIANT:?required}',
      'FROM busybox:${TAG%.0}',
      'FROM python:3.12 AS py',
      'ARG STAGE_ONLY=3.19',
      'FROM alpine:${STAGE_ONLY}',
      'FROM "redis:${TAG}"',
    );
    assert.deepEqual(references(findImageUses('Dockerfile', text)), [
      'debian:bookworm-slim',
      'node:1.0',
      'python:3.12-slim',
      'alpine:3.19',
      'ubuntu:1.0',
      'python:3.12',
      'redis:1.0',
    ]);
  });

  it('follows line continuations, skipping comment and empty lines inside them', () => {
    const text = lines(
      'FROM \\',
      '  # the runtime base',
      '',
      '  python:3.12-slim \\',
      '  AS app',
      'RUN apt-get update && \\',
      '    apt-get install -y curl \\',
      '  # FROM not-an-instruction:1',
      '    && rm -rf /var/lib/apt/lists/*',
      'FROM app',
      'FROM docker.io/library/nginx:1.27 AS \\',
      '  web',
      'COPY --from=web / /',
    );
    const uses = findImageUses('Dockerfile', text);
    assert.deepEqual(references(uses), ['python:3.12-slim', 'docker.io/library/nginx:1.27']);
    assert.deepEqual([uses[0].line, uses[0].column], [3, 2]);
    assertPointsAtReferences(text, uses);
  });

  it('uses the escape character of the `# escape=` directive, and only when it leads the file', () => {
    const windows = lines(
      '# escape=`',
      '',
      'FROM mcr.microsoft.com/windows/servercore:ltsc2022 `',
      '    AS base',
      'RUN dir C:\\',
      'FROM mcr.microsoft.com/dotnet/runtime:8.0-nanoserver-ltsc2022',
      'COPY --from=mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022 `',
      '     C:\\\\Program` Files\\\\PowerShell C:\\\\PowerShell',
      'COPY --from=base C:\\\\Windows\\\\System32\\\\x.dll C:\\\\',
    );
    const uses = findImageUses('Containerfile', windows);
    assert.deepEqual(references(uses), [
      'mcr.microsoft.com/windows/servercore:ltsc2022',
      'mcr.microsoft.com/dotnet/runtime:8.0-nanoserver-ltsc2022',
      'mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022',
    ]);
    assert.deepEqual(uses.map((u) => [u.line, u.column]), [[2, 5], [5, 5], [6, 12]]);

    // With the default escape, `RUN dir C:\` continues onto the FROM line, which is then part of RUN.
    const unescaped = references(findImageUses('Dockerfile', windows.replace('# escape=`\n', '')));
    assert.ok(unescaped.includes('mcr.microsoft.com/windows/servercore:ltsc2022'), unescaped.join());
    assert.ok(!unescaped.includes('mcr.microsoft.com/dotnet/runtime:8.0-nanoserver-ltsc2022'), unescaped.join());
    // A directive after a comment is a comment: the backtick continues nothing.
    const late = lines('# build the tool', '# escape=`', 'FROM alpine:3.20', 'RUN echo `', 'FROM debian:12');
    assert.deepEqual(references(findImageUses('Dockerfile', late)), ['alpine:3.20', 'debian:12']);
    // Directive names and spacing are free-form; `syntax` may come first.
    const spaced = lines('#syntax=docker/dockerfile:1', '#  ESCAPE = `', 'RUN echo \\', 'FROM debian:12');
    assert.deepEqual(references(findImageUses('Dockerfile', spaced)), ['debian:12']);
  });

  it('skips heredoc bodies, which are not instructions', () => {
    const text = lines(
      'FROM alpine:3.20 AS gen',
      'RUN <<EOF',
      'FROM not-an-image:1',
      'echo generated > /out',
      'EOF',
      'COPY <<-"END" /etc/motd',
      '\tFROM also-not-an-image:2',
      '\tEND',
      'RUN cat <<A && cat <<B',
      'FROM neither:3',
      'A',
      'FROM nor:4',
      'B',
      'FROM debian:12-slim',
    );
    assert.deepEqual(references(findImageUses('Dockerfile', text)), ['alpine:3.20', 'debian:12-slim']);
  });

  it('reports COPY --from and RUN --mount from= images, not stages, stage indexes or variables', () => {
    const text = lines(
      'ARG SHARED_CACHE=ghcr.io/acme/shared-cache:3',
      'FROM golang:1.22 AS builder',
      'ARG CACHE_IMAGE=ghcr.io/acme/go-cache:2',
      'ARG SHARED_CACHE',
      'RUN --mount=type=cache,target=/c,from=$SHARED_CACHE true',
      'RUN --mount=type=cache,target=/root/.cache,from=${CACHE_IMAGE} \\',
      '    --mount=type=bind,from=builder,source=/src,target=/src \\',
      '    --mount=type=bind,target=/tools,from=ghcr.io/acme/tools:1.0,source=/bin go build ./...',
      'RUN --mount=type=bind,from=$UNKNOWN_IMAGE,target=/x true',
      'FROM debian:12',
      'COPY --from=builder /go/bin/app /usr/local/bin/app',
      'COPY --from=0 /go/bin/tool /usr/local/bin/tool',
      'COPY --from=nginx:1.27-alpine /etc/nginx/nginx.conf /etc/nginx/',
      'copy --chmod=0755 --from="docker.io/tonistiigi/xx:1.5.0" / /',
      'COPY --from=$IMAGE /x /x',
      'COPY --from=later /x /x',
      'ONBUILD COPY --from=onbuild-image:1 /x /x',
      'FROM alpine:3.20 AS later',
    );
    const uses = findImageUses('Dockerfile', text);
    assert.deepEqual(references(uses), [
      'golang:1.22',
      'ghcr.io/acme/shared-cache:3',
      'ghcr.io/acme/go-cache:2',
      'ghcr.io/acme/tools:1.0',
      'debian:12',
      'nginx:1.27-alpine',
      'docker.io/tonistiigi/xx:1.5.0',
      'alpine:3.20',
    ]);
    assert.equal(writtenAt(text, uses[1]), '$SHARED_CACHE');
    assert.equal(writtenAt(text, uses[2]), '${CACHE_IMAGE}');
    assert.deepEqual([uses[3].line, uses[3].column], [7, 41]);
    for (const i of [3, 5, 6]) assert.equal(writtenAt(text, uses[i]), uses[i].reference);
  });

  it('points at the reference: unquoted, inside quotes, with CRLF line endings and a BOM', () => {
    const text = '\uFEFFFROM   "node:20-alpine"   AS deps\r\n' + 'FROM\tnode:20-alpine\r\n' + 'FROM --platform=linux/amd64 \\\r\n    ghcr.io/acme/app:1.0\r\n';
    const uses = findImageUses('Dockerfile.prod', text);
    assert.deepEqual(uses.map((u) => [u.reference, u.line, u.column, u.length]), [
      ['node:20-alpine', 0, 8, 14],
      ['node:20-alpine', 1, 5, 14],
      ['ghcr.io/acme/app:1.0', 3, 4, 20],
    ]);
    assertPointsAtReferences(text, uses);
  });

  it('returns what it can from a broken Dockerfile', () => {
    const text = lines(
      'FROM',
      'FROM node:20 AS',
      'ARG =x',
      'FROM ${UNTERMINATED',
      'FROM ubuntu:24.04 extra words here',
      'RUN <<EOF',
      'FROM inside-unterminated-heredoc:1',
    );
    assert.deepEqual(references(findImageUses('Dockerfile', text)), ['node:20', 'ubuntu:24.04']);
    assert.deepEqual(findImageUses('Dockerfile', ''), []);
    // A continuation at the end of the file ends the instruction.
    assert.deepEqual(references(findImageUses('Dockerfile', 'FROM alpine:3.20 \\')), ['alpine:3.20']);
  });
});
