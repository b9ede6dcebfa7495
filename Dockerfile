# AgentCore Runtime image of the bridge: ARM64, one static-enough binary on a minimal base.
#
# The binary is cross-built outside the image (no Rust toolchain inside, nothing to
# compile at deploy time), the same way the Lambda is built:
#   make agentcore-build      # cargo lambda build --release --arm64 --bin xaa-bridge-agentcore
#   docker buildx build --platform linux/arm64 -t xaa-bridge-agentcore .
#
# cargo-lambda links against glibc 2.17+ (zig), so a distroless glibc base fits; it holds
# CA certificates for Okta and AWS over https and runs as a non-root user.
FROM --platform=linux/arm64 gcr.io/distroless/cc-debian12:nonroot

COPY target/lambda/xaa-bridge-agentcore/bootstrap /usr/local/bin/xaa-bridge-agentcore

# AgentCore Runtime's container contract: port 8080, POST /invocations, GET /ping.
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/xaa-bridge-agentcore"]
