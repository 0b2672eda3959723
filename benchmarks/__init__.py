"""Speed and memory benchmarks against the peers (not installed; run from a checkout).

  python -m benchmarks.<name> --help
"""
