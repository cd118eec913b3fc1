import gc
import weakref

import pytest

from fundgraph.api.app import SurvivorFreezer


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def freezer():
    was = gc.get_freeze_count()
    f = SurvivorFreezer()
    gc.callbacks.append(f)
    yield f
    gc.callbacks.remove(f)
    gc.unfreeze()
    if was:  # what an earlier test's server froze stays out of the scans, as it was
        gc.freeze()


def test_survivors_of_a_generation_1_collection_are_frozen(freezer):
    gc.collect()
    kept = [[i] for i in range(5000)]
    before = gc.get_freeze_count()
    gc.collect(1)
    assert gc.get_freeze_count() >= before + len(kept)
    young_or_old = {id(o) for g in range(3) for o in gc.get_objects(g)}
    assert id(kept[0]) not in young_or_old and id(kept) not in young_or_old


def test_a_generation_0_collection_freezes_nothing(freezer):
    gc.collect()
    kept = [[i] for i in range(100)]
    before = gc.get_freeze_count()
    gc.collect(0)
    assert gc.get_freeze_count() == before
    assert len(kept) == 100


def test_frozen_cycles_are_collected_once_past_the_bound(freezer):
    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    gc.collect(1)  # the cycle survives, frozen
    del a, b
    gc.collect()
    assert ref() is not None  # a frozen cycle is out of the collector's reach
    freezer.leak_bound, freezer.CHECK_EVERY = 0, 1
    gc.collect(1)  # past the bound: everything frozen goes back to the collector ...
    assert freezer.draining
    gc.collect()  # ... until the next full collection, which frees the cycle and freezes again
    assert ref() is None
    assert not freezer.draining
    assert gc.get_freeze_count() > 0
