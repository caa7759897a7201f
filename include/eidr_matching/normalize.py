"""Title and name normalisation: the same work written the way different providers write it gives the same key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode

# Leading articles in the languages providers send (English, French, Italian, Spanish, Portuguese, German, Dutch,
# Scandinavian). A key drops its leading article, so "The Matrix", "Matrix, The" and "Matrix" share one key.
ARTICLES = frozenset(
    ["the", "a", "an", "le", "la", "les", "l", "il", "lo", "gli", "el", "los", "las", "un", "une", "una", "der", "die",
     "das", "ein", "eine", "de", "het", "een"]
)  # fmt: skip
_MOVED_ARTICLE = re.compile(
    r"^(.*?),\s*(the|a|an|le|la|les|l'|il|lo|gli|i|el|los|las|un|une|una|der|die|das|den|de|het|een|o|os|as|en|det)"
    r"(?=$|\s*[:(\[]|\s+-\s)(.*)$"
)
_TRAILING_QUALIFIER = re.compile(
    r"\s*[\[(](?:\d{4}|(?:(?:original|theatrical|extended|unrated|director'?s|uncut|special|remastered|dubbed|subbed"
    r"|subtitled|hd|sd|uhd|4k|3d|omu|ov|vf|vost|vostfr|version|cut|edition|\s)+))[\])]\s*$"
)
_SUBTITLE = re.compile(r":\s|\s[-/|]\s|\s\(|\[|\.\.\.\s")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ROMAN = {
    "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10",
    "xi": "11", "xii": "12", "xiii": "13",
}  # fmt: skip
_STOPWORDS = ARTICLES | frozenset(
    ["and", "of", "in", "on", "to", "for", "with", "from", "at", "by", "or", "part", "et", "und", "y", "e"]
)


@dataclass(frozen=True, slots=True)
class TitleKey:
    """A title normalised for matching: `key` (whole title), `main` (without subtitle) and their tokens."""

    key: str
    main: str
    tokens: tuple[str, ...]
    full: str

    @property
    def compact(self) -> str:
        """The key without spaces, for prefix/suffix blocking keys that survive a typo in the middle."""
        return self.key.replace(" ", "")


def fold(text: str) -> str:
    """ASCII, lower case, '&' as 'and': the first step for any name (diacritics and case never matter)."""
    if not text.isascii():
        text = unidecode(text)
    return text.lower().replace("&", " and ").replace("\u2019", "'").strip()


_ELISION = re.compile(r"\b([ldjmnst]|qu)'")


def _words(text: str) -> list[str]:
    if "'" in text:
        text = _ELISION.sub(r"\1 ", text).replace("'", "")
    words = _NON_ALNUM.sub(" ", text).split()
    return words[:1] + [_ROMAN.get(w, w) for w in words[1:]]


def _drop_article(words: list[str]) -> str:
    if len(words) > 1 and words[0] in ARTICLES:
        return " ".join(words[1:])
    return " ".join(words)


@lru_cache(maxsize=1_000_000)
def title_key(title: str) -> TitleKey:
    """Normalise a title: diacritics, case, punctuation, moved articles ("Matrix, The"), edition qualifiers, subtitle.

    `main` is the part before a subtitle (": ", " - ", "(...)"), so "Dr. Strangelove or: How I Learned..." and
    "Dr. Strangelove" can be compared on their main titles.
    """
    text = fold(title)
    while text.endswith((")", "]")):
        stripped = _TRAILING_QUALIFIER.sub("", text)
        if stripped == text or not stripped:
            break
        text = stripped
    if "," in text:
        moved = _MOVED_ARTICLE.match(text)
        if moved and moved.group(1):
            article, rest, tail = moved.group(2), moved.group(1), moved.group(3)
            text = f"{article}{rest}{tail}" if article.endswith("'") else f"{article} {rest}{tail}"
    words = _words(text)
    key = _drop_article(words)
    split = _SUBTITLE.search(text)
    main = _drop_article(_words(text[: split.start()])) if split and split.start() > 0 else key
    if main.endswith(" or"):
        main = main[:-3]
    if not main:
        main = key
    return TitleKey(key, main, tuple(key.split()), " ".join(words))


def blocking_tokens(key: TitleKey) -> list[str]:
    """The title's tokens worth blocking on: no articles or stopwords (unless that is all the title has)."""
    tokens = [t for t in dict.fromkeys(key.tokens) if t not in _STOPWORDS]
    return tokens or list(dict.fromkeys(key.tokens))


@lru_cache(maxsize=200_000)
def person_key(name: str) -> str:
    """A person's name as sorted tokens: "Kubrick, Stanley" and "Stanley Kubrick" agree."""
    return " ".join(sorted(_NON_ALNUM.sub(" ", fold(name)).split()))


def split_people(value: str | None) -> tuple[str, ...]:
    """Names from a '; ' or '|' separated list (how the warehouse and EIDR exports join several directors)."""
    if not value:
        return ()
    parts = re.split(r"\s*[;|]\s*", value)
    return tuple(k for k in (person_key(p) for p in parts if p.strip()) if k)


_COUNTRIES = {
    "usa": "US", "united states": "US", "united states of america": "US", "us": "US", "uk": "GB",
    "united kingdom": "GB", "great britain": "GB", "gb": "GB", "england": "GB", "france": "FR", "germany": "DE",
    "deutschland": "DE", "italy": "IT", "spain": "ES", "japan": "JP", "canada": "CA", "india": "IN",
    "australia": "AU", "mexico": "MX", "brazil": "BR", "south korea": "KR", "korea": "KR", "china": "CN",
    "sweden": "SE", "denmark": "DK", "norway": "NO", "netherlands": "NL", "belgium": "BE", "ireland": "IE",
}  # fmt: skip


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from a code or a common English country name; unknown names pass through upper-cased."""
    if not value or not value.strip():
        return None
    text = fold(value.split(";")[0].split(",")[0])
    return _COUNTRIES.get(text, text.upper())
