// Every fundgraph relationship starts at a :Node, so the count store answers this in one read
// ((:Node)-[r]->(:Node) would expand every relationship).
MATCH (:Node)-[r]->() RETURN count(r) AS count
