"""Quality and speed benchmarks, side by side with peers in the same run (not packaged)."""
