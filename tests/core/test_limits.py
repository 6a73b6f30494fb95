"""The skipped-key limits of an `Account` are bounded like the store bounds them (issue 10,
item 6): a huge `max_skip` would let one forged header make the receiver derive millions of
keys before anything is authenticated."""

from __future__ import annotations

import pytest

from whatsapp_client import Account, _core

# The bound the store applies to the same settings (wac1::ratchet::MAX_LIMIT).
BOUND = 100_000


def test_the_bound_is_exported() -> None:
    assert _core.MAX_LIMIT == BOUND


@pytest.mark.parametrize("name", ["max_skip", "max_skipped_keys"])
@pytest.mark.parametrize("value", [BOUND + 1, 2**31, 2**32 - 1, 2**32, 2**63, -1])
def test_out_of_range_limits_raise_value_error_and_change_nothing(name: str, value: int) -> None:
    account = Account()
    setattr(account, name, 7)
    with pytest.raises(ValueError, match=name):
        setattr(account, name, value)
    assert getattr(account, name) == 7


@pytest.mark.parametrize("name", ["max_skip", "max_skipped_keys"])
def test_limits_up_to_the_bound_are_accepted(name: str) -> None:
    account = Account()
    for value in (0, 1, BOUND):
        setattr(account, name, value)
        assert getattr(account, name) == value
