CREATE INDEX fundgraph_direction_program IF NOT EXISTS FOR (d:Direction) ON (d.program_id)
