"""Rob'O benchmarks: `make bench` (or `python -m bench [NAME…]`). Figures are ratios measured in one run."""
