"""Load benchmarks of the gateway (see docs/benchmarks-gateway.md)."""
