"""What every CLI input error looks like: one line on stderr, nothing on stdout, no traceback."""

from __future__ import annotations


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interarec: error: "), captured.err
    return lines[0]
