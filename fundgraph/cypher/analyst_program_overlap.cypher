// Analyst query: what two programs share. Paste into Neo4j Browser with
//   :param a => 'most-btit-2024'
//   :param b => 'nsfc-tianyuan-sz-2023'
// One row per shared entity (disease, modality, technique, keyword, discipline), rarest first,
// with the directions of each program that cite it.
MATCH (pa:Program {id: $a})-[:HAS_DIRECTION]->(da:Direction)-[:MENTIONS]->(e:Node)
      <-[:MENTIONS]-(db:Direction)<-[:HAS_DIRECTION]-(pb:Program {id: $b})
WITH e, collect(DISTINCT da.id) AS a_directions, collect(DISTINCT db.id) AS b_directions
OPTIONAL MATCH (e)<-[:MENTIONS]-(:Direction)<-[:HAS_DIRECTION]-(p:Program)
WITH e, a_directions, b_directions, count(DISTINCT p) AS program_count
RETURN e.id AS entity, e.label AS label, e.name AS name, e.name_en AS name_en, program_count,
       a_directions, b_directions
ORDER BY program_count, size(a_directions) + size(b_directions) DESC, entity
