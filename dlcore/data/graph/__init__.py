"""Graph data (DS-16): node-classification graphs from the LINQS text files (`linqs`), the
standard Planetoid split (`planetoid`, read by a restricted unpickler) matched onto them
(`matching`), and random walks for DeepWalk / node2vec (`walks`)."""

from dlcore.data.graph.base import Graph, load_graph, random_split, undirected

__all__ = ["Graph", "load_graph", "random_split", "undirected"]
