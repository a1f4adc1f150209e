"""Command-line entry points: `python -m launch.train`, `python -m launch.eval`."""
