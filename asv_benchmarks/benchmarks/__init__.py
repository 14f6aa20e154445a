"""asv benchmarks of fastconv: see ``asv_benchmarks/README.md``."""
