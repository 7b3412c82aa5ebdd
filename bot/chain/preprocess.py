"""First link of the chain: turn what a user typed into a clean, standalone question."""

from __future__ import annotations

import re
import unicodedata

from bot.chain.answer import Turn

_SLACK_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
_SLACK_MENTION = re.compile(r"<[@#!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-]+:")
_SPACES = re.compile(r"\s+")
_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|what about|how about|what if|same for|and for|or|then|so)\b", re.IGNORECASE
)
_PRONOUN = re.compile(r"\b(it|that|this|those|these|they|them|there)\b", re.IGNORECASE)
# Korean: "그럼 계약직은?" (and for contractors?) opens with a connective; "그건 언제까지야?" (until
# when is that?) points back with a demonstrative; "인턴은요?" is a topic alone, the rest implied.
_KO_FOLLOW_UP_START = re.compile(
    r"^(?:그럼|그러면|그리고|그런데|근데|그래서|그렇다면|아니면|또|또한|혹시\s*그)(?:\s|,|$)"
)
_KO_POINTER = re.compile(
    r"(?:^|\s)(?:그건|그거|그게|그것|그걸|그때|그분|그\s*경우|이건|이거|이게|이것|거기|저건|저거)"
)
_KO_TOPIC_ONLY = re.compile(r"^\S+(?:은|는|도|이랑|하고|의\s*경우)(?:요)?\s*[?？]?$")


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
    if _KO_FOLLOW_UP_START.match(question) or _KO_TOPIC_ONLY.match(question):
        return True
    if len(words) <= 4 and _KO_POINTER.search(
        question
    ):  # Korean words carry more: 4 eojeol ~ 6 words
        return True
    return bool(_FOLLOW_UP_START.match(question)) or (
        len(words) <= 6 and bool(_PRONOUN.search(question))
    )


def follow_up_context(question: str, history: list[Turn]) -> str:
    """For a follow-up ("and for contractors?"), the thread's previous question; else ""."""
    if history and looks_like_follow_up(question):
        return history[-1].question
    return ""
