"""Is a staff message an internal note? Decided on what the message looks like, failing closed.

The prefix (policy note_prefix, "note:") is recognised whatever formatting or invisible
characters surround it: `*note:*`, `_note:_`, `> note:`, `note :`, `NOTE:`, a zero-width space
first, full-width letters. A message that starts like the prefix without being exactly it
(`note - …`, `note;`) is kept internal too, and the staff member is told (a leaked note
cannot be taken back; an answer kept back can be sent again).
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

FORMATTING = frozenset("*_~`>|")  # emphasis, strike, code and quote marks of Slack and Markdown
DOUBTFUL_NEXT = frozenset(":;.-=—–")  # after the prefix's word: someone meant a note, mistyped
LOOK_AHEAD = 200  # characters of a message examined: the prefix is at its start


class NoteKind(StrEnum):
    ANSWER = "answer"
    NOTE = "note"
    DOUBT = "doubt"  # kept internal, and the author is told why


def _ignorable(ch: str) -> bool:
    return ch.isspace() or ch in FORMATTING or unicodedata.category(ch) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn")


def _stream(text: str) -> list[tuple[str, int]]:
    """The meaningful characters of `text`, normalised (NFKC, case-folded), each with the index
    in `text` just after it."""
    out: list[tuple[str, int]] = []
    for i, ch in enumerate(text[:LOOK_AHEAD]):
        if _ignorable(ch):
            continue
        for folded in unicodedata.normalize("NFKC", ch).casefold():
            if not _ignorable(folded):
                out.append((folded, i + 1))
    return out


def classify(body: str, prefix: str) -> tuple[NoteKind, str]:
    """(kind, text to store): a note's text is stripped of its prefix and the marks around it."""
    wanted = "".join(c for c, _ in _stream(prefix))
    if not wanted:
        return NoteKind.ANSWER, body
    stream = _stream(body)
    seen = "".join(c for c, _ in stream)
    if seen.startswith(wanted):
        rest = body[stream[len(wanted) - 1][1]:]
        return NoteKind.NOTE, rest.lstrip("".join(FORMATTING) + " \t\n:").strip()
    word = wanted.rstrip("".join(DOUBTFUL_NEXT))
    if word and seen.startswith(word):
        following = seen[len(word):len(word) + 1]
        if following == "" or following in DOUBTFUL_NEXT:
            return NoteKind.DOUBT, body.strip()
    return NoteKind.ANSWER, body
