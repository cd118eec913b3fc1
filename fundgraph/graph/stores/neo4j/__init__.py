"""The Neo4j store: property codec, connection, loader and Cypher reads.

Only :mod:`.connection` imports the ``neo4j`` driver; :mod:`.codec` and the row functions of :mod:`.loader` are
pure and run without it.
"""
