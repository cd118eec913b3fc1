"""Read/write of graph formats (JSON document, GraphML, node-link, neo4j-admin CSV) behind one registry."""

from fundgraph.graph.formats.registry import FORMATS, SERVED_FORMATS, GraphFormat, Served, export_graph, get_format

__all__ = ["FORMATS", "SERVED_FORMATS", "GraphFormat", "Served", "export_graph", "get_format"]
