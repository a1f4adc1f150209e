"""dlcore: a JAX/Flax functional research framework."""
__version__ = "0.1.0"
