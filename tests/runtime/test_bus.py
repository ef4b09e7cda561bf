import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.runtime.bus import Overflow, SoftwareBus


def test_delivery_happens_on_pump_in_publish_order():
    bus = SoftwareBus()
    got = []
    bus.subscribe("t", got.append, depth=8)
    for i in range(5):
        assert bus.publish("t", i)
    assert got == []
    assert bus.pump() == 5
    assert got == [0, 1, 2, 3, 4]


def test_fan_out_and_subscription_order():
    bus = SoftwareBus()
    order = []
    bus.subscribe("t", lambda m: order.append(("a", m)))
    bus.subscribe("t", lambda m: order.append(("b", m)))
    bus.subscribe("u", lambda m: order.append(("c", m)))
    bus.publish("u", 1)
    bus.publish("t", 2)
    bus.pump()
    assert order == [("c", 1), ("a", 2), ("b", 2)]


@pytest.mark.parametrize(("policy", "kept", "accepted"), [
    (Overflow.DROP_OLDEST, [3, 4, 5], [True] * 6),
    (Overflow.DROP_NEWEST, [0, 1, 2], [True] * 6),
    (Overflow.REJECT, [0, 1, 2], [True] * 3 + [False] * 3),
])
def test_overflow_policies_and_their_counts(policy, kept, accepted):
    bus = SoftwareBus()
    got = []
    sub = bus.subscribe("t", got.append, depth=3, policy=policy)
    assert [bus.publish("t", i) for i in range(6)] == accepted
    bus.pump()
    assert got == kept
    assert sub.lost == 3 and sub.delivered == 3 and sub.high_water == 3
    assert (sub.rejected == 3) == (policy is Overflow.REJECT)


def test_handlers_publishing_are_delivered_in_later_rounds_bounded():
    bus = SoftwareBus()
    got = []

    def echo(m):
        got.append(m)
        bus.publish("t", m + 1)

    bus.subscribe("t", echo, depth=4)
    bus.publish("t", 0)
    bus.pump(max_rounds=5)
    assert got == [0, 1, 2, 3, 4]
    assert bus.pending  # the ping-pong waits for the next pump instead of spinning forever
    bus.pump(max_rounds=1)
    assert got[-1] == 5


def test_a_raising_handler_is_isolated_and_reported():
    faults = []
    bus = SoftwareBus(fault_handler=lambda sub, msg, exc: faults.append((sub.name, msg, str(exc))))
    got = []

    def bad(m):
        if m == 1:
            raise ValueError("bad one")
        got.append(m)

    bus.subscribe("t", bad, name="bad")
    for i in range(3):
        bus.publish("t", i)
    bus.pump()
    assert got == [0, 2]
    assert faults == [("bad", 1, "bad one")] and bus.handler_faults == 1


def test_unsubscribe_and_depth_validation():
    bus = SoftwareBus()
    got = []
    sub = bus.subscribe("t", got.append)
    bus.publish("t", 1)
    bus.unsubscribe(sub)
    bus.publish("t", 2)
    bus.pump()
    assert got == []
    with pytest.raises(ValueError):
        bus.subscribe("t", got.append, depth=0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), max_size=60),
       st.lists(st.sampled_from(list(Overflow)), min_size=3, max_size=3),
       st.lists(st.integers(1, 5), min_size=3, max_size=3))
def test_every_message_is_delivered_or_counted_lost_in_order(ops, policies, depths):
    """ops: (subscriber-set selector, pumps after) - publish a numbered message to one of three
    topics, then maybe pump."""
    bus = SoftwareBus()
    got = [[], [], []]
    subs = [bus.subscribe(f"t{i}", got[i].append, depth=depths[i], policy=policies[i])
            for i in range(3)]
    published = [[], [], []]
    for n, (topic, pump_now) in enumerate(ops):
        bus.publish(f"t{topic}", n)
        published[topic].append(n)
        if pump_now == 0:
            bus.pump()
    bus.pump()
    for i, sub in enumerate(subs):
        assert got[i] == sorted(got[i])  # publish order is kept
        assert set(got[i]) <= set(published[i])
        assert sub.delivered == len(got[i])
        assert sub.delivered + sub.lost == len(published[i])
