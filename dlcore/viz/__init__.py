"""Plots written into a workdir (PNG, matplotlib Agg backend)."""
