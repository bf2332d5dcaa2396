"""The smimages benchmark harness: `./run bench` (or `python -m benchmarks`) writes docs/benchmarks/."""
