"""Generated gRPC and protobuf stubs of the accord.v1 wire API (scripts/gen_protos.sh)."""
