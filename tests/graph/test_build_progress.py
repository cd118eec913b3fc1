from fundgraph.graph.build.pipeline import StepCount


def test_step_count_reports_counts_and_eta_throttled_and_always_the_last():
    said: list[str] = []
    with StepCount(said.append, "parsing documents", 1200, every=3600) as count:
        for _ in range(1200):
            count.add()
    assert said == [said[-1]]  # throttled: only the last (complete) count
    assert said[-1].startswith("parsing documents: 1,200 / 1,200 (100 %, ETA ")
    every: list[str] = []
    count = StepCount(every.append, "linking editions of a series", 3, every=0)
    for _ in range(3):
        count.add()
    assert [m.split(" (")[0] for m in every] == [f"linking editions of a series: {i} / 3" for i in (1, 2, 3)]
