from pathlib import Path

from batched_writes import LINES, write_in_one_go, write_line_by_line


def test_both_report_the_same_number_of_bytes() -> None:
    assert write_line_by_line() == write_in_one_go() == sum(len(line) for line in LINES)


def test_both_leave_the_same_file(tmp_path: Path) -> None:
    one_by_one, all_at_once = tmp_path / "a.txt", tmp_path / "b.txt"
    write_line_by_line(path=one_by_one)
    write_in_one_go(path=all_at_once)
    assert one_by_one.read_bytes() == all_at_once.read_bytes() == b"".join(LINES)
