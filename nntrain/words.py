"""Counts in messages that read right: "1 column", "3 columns", "1 row has", "2 rows have"."""


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and the noun in the matching number, e.g. counted(1, "row") -> "1 row"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
