"""What crosses the process boundary, exactly, and the TypeError for what cannot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promp import NTVariantList
from promp._values import pack, unpack

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(), inner)), max_leaves=20)


@given(values)
def test_values_round_trip_exactly(value: object):
    assert unpack(pack(value)) == value
    assert type(unpack(pack(value))) is type(value)


def test_tuples_and_variant_lists_arrive_as_lists():
    assert unpack(pack((1, (2, 3)))) == [1, [2, 3]]
    assert unpack(pack(NTVariantList([4, 5]))) == [4, 5]


@pytest.mark.parametrize("value, name", [({1, 2}, "set"), (object(), "object"), ([1, {"a": 1j}], "complex")])
def test_unsupported_types_raise_type_error_naming_the_type(value: object, name: str):
    with pytest.raises(TypeError, match=f"type '{name}'"):
        pack(value)


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, [1, {"k": 10**30}]])
def test_ints_beyond_64_bits_raise_type_error(big: object):
    with pytest.raises(TypeError, match="does not fit in 64 bits"):
        pack(big)


def test_nt_variant_list_has_the_seed_accessors():
    args = NTVariantList()
    args.append(4)
    args.append(5)
    assert (args.size(), args.count(), args.at(1), args.isEmpty()) == (2, 2, 5, False)
    assert args.count(4) == 1


def test_a_value_that_failed_to_pack_leaves_nothing_behind_for_the_next():
    # the packer is reused between calls: a half-packed value must not leak into the next one
    for bad in ([1, 2, object()], ["x" * 100, 2**70], {"a": [1, {2, 3}]}):
        with pytest.raises(TypeError):
            pack(bad)
        assert unpack(pack([7, "seven"])) == [7, "seven"]


def test_threads_pack_side_by_side_without_mixing_values():
    import threading

    errors: list[object] = []

    def work(n: int) -> None:
        for i in range(2000):
            value = [n, i, "t" * (n % 7), {"n": n}]
            if unpack(pack(value)) != value:
                errors.append(value)
            if i % 50 == 0:
                try:
                    pack([n, object()])
                except TypeError:
                    pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
