"""First link of the chain: turn what a user typed into a clean, standalone question."""

from __future__ import annotations

import re
import unicodedata

from bot.models import Turn

_SLACK_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
_SLACK_MENTION = re.compile(r"<[@#!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-]+:")
_SPACES = re.compile(r"\s+")
_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|what about|how about|what if|same for|and for|or|then|so)\b", re.IGNORECASE
)
_PRONOUN = re.compile(r"\b(it|that|this|those|these|they|them|there)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """Strip Slack markup (mentions, links, emoji codes) and normalise Unicode and spacing."""
    text = unicodedata.normalize("NFKC", text)
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SLACK_MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def looks_like_follow_up(question: str) -> bool:
    words = question.split()
    return bool(_FOLLOW_UP_START.match(question)) or (len(words) <= 6 and bool(_PRONOUN.search(question)))


def follow_up_context(question: str, history: list[Turn]) -> str:
    """For a follow-up ("and for contractors?"), the thread's previous question; else ""."""
    if history and looks_like_follow_up(question):
        return history[-1].question
    return ""
