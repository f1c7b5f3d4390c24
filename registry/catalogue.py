"""Analyte names as printed on certificates, mapped to the catalogue.

Real certificates write the same analyte many ways ("Pb", "Lead (Pb)",
"olovo", "7-OH", "7-hydroxymitragynin"). A synonym is matched on a key that
ignores case, accents, spaces and punctuation; a name with a parenthesis is
also tried without it and by its content ("Lead (Pb)" → "lead", "pb").
"""

import re
import unicodedata


def synonym_key(name):
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "", stripped.casefold())


def candidate_keys(name):
    keys = [synonym_key(name)]
    outside = re.sub(r"\(.*?\)", " ", name)
    inside = re.findall(r"\((.*?)\)", name)
    for text in [outside, *inside]:
        key = synonym_key(text)
        if key and key not in keys:
            keys.append(key)
    return keys


class UnknownAnalyte(LookupError):
    def __init__(self, name):
        super().__init__(f"Unknown analyte '{name}'")
        self.name = name


class Catalogue:
    """An in-memory view of the analyte table for one import or evaluation
    run: code → analyte, and every synonym key → analyte."""

    def __init__(self, analytes, synonyms):
        self.by_code = {a.code: a for a in analytes}
        self.by_key = {}
        for analyte in analytes:
            self.by_key[synonym_key(analyte.code)] = analyte
            self.by_key.setdefault(synonym_key(analyte.name), analyte)
        by_pk = {a.pk: a for a in analytes}
        for synonym in synonyms:
            self.by_key[synonym.key] = by_pk[synonym.analyte_id]

    @classmethod
    def load(cls):
        from .models import Analyte, AnalyteSynonym

        analytes = list(Analyte.objects.all())
        return cls(analytes, list(AnalyteSynonym.objects.all()))

    def resolve(self, name):
        if name in self.by_code:
            return self.by_code[name]
        for key in candidate_keys(name):
            if key in self.by_key:
                return self.by_key[key]
        raise UnknownAnalyte(name)
