"""A plan's memos forget everything at once when full, so a huge plan cannot grow them."""

from __future__ import annotations

from lipflow._memo import BoundedMemo


def test_a_full_memo_forgets_everything_before_it_takes_one_more() -> None:
    memo: BoundedMemo[int, str] = BoundedMemo(3)
    for i in range(3):
        assert memo.put(i, str(i)) == str(i)
    assert dict(memo) == {0: "0", 1: "1", 2: "2"}
    memo.put(3, "3")
    assert dict(memo) == {3: "3"}
    assert memo.get(0) is None and memo.get(3) == "3"
