#!/usr/bin/python3
"""check_domain_quotes.py -- docs/domain.md's citations of its source document are true.

Usage: check_domain_quotes.py DOMAIN_MD SOURCE_DIR

docs/domain.md cites the source (docs/source/*.txt, the Hulunbuir 2023 plan) with section marks
such as §二(一)3 and quotes its words in 「...」. This check fails when:
  - a 「...」 quote does not occur verbatim in a docs/source/*.txt file;
  - a § citation in the text is not directly followed by its quote (`§二(一)3 「...」`, a colon
    or spaces between them allowed), so every citation can be checked by reading it;
  - the quote after a § mark is not inside that section of the source (a wrong mark);
  - a § mark in a heading is not quoted with that mark somewhere in the heading's section;
  - a § mark names a section the source does not have.
"Verbatim" is after removing all whitespace (the source's page breaks split sentences with blank
lines) and folding full-width and ASCII forms together (Unicode NFKC: the source writes "," and
"(" in some sections and "，" and "（" in others). A built-in self-test runs first, so a checker
that stopped failing would fail itself.
"""
import glob
import os
import re
import sys
import unicodedata

CN = "一二三四五六七八九十"
# §二 / §二(一) / §二(一)3; parentheses ASCII or full-width in the doc.
MARK = re.compile(r"§([" + CN + r"]+)(?:[(（]([" + CN + r"]+)[)）](\d+)?)?")
QUOTE = re.compile(r"「([^「」]*)」")
TOP = re.compile(r"^([" + CN + r"]+)、")
MID = re.compile(r"^[(（]([" + CN + r"]+)[)）]")
LOW = re.compile(r"^(\d+)[.．]")


def norm(s):
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def sections(text):
    """{mark: normalised text} for every section and its ancestors ("二", "二(一)", "二(一)3");
    "" holds the whole document."""
    out = {"": []}
    top = mid = low = None
    for line in text.splitlines():
        s = line.strip()
        m = TOP.match(s)
        if m:
            top, mid, low = m.group(1), None, None
        else:
            m = MID.match(s)
            if m and top is not None:
                mid, low = m.group(1), None
            else:
                m = LOW.match(s)
                if m and mid is not None:
                    low = m.group(1)
        keys = [""]
        if top is not None:
            keys.append(top)
            if mid is not None:
                keys.append("%s(%s)" % (top, mid))
                if low is not None:
                    keys.append("%s(%s)%s" % (top, mid, low))
        for k in keys:
            out.setdefault(k, []).append(s)
    return {k: norm("".join(v)) for k, v in out.items()}


def mark_key(m):
    k = m.group(1)
    if m.group(2):
        k += "(%s)" % m.group(2)
        if m.group(3):
            k += m.group(3)
    return k


def check(doc, secs):
    """The list of problems in doc (markdown text) against secs (from sections())."""
    errors = []
    whole = secs[""]
    lines = doc.splitlines()
    for n, line in enumerate(lines, 1):
        for q in QUOTE.finditer(line):
            if not norm(q.group(1)):
                errors.append("line %d: empty quote" % n)
            elif norm(q.group(1)) not in whole:
                errors.append("line %d: quote not in the source: 「%s」" % (n, q.group(1)))
    # Headings: every mark quoted with that mark in the section the heading opens.
    heading_at = [i for i, l in enumerate(lines) if l.startswith("#")] + [len(lines)]
    for a, b in zip(heading_at, heading_at[1:]):
        body = "\n".join(lines[a + 1:b])
        for m in MARK.finditer(lines[a]):
            k = mark_key(m)
            if k not in secs:
                errors.append("line %d: §%s is not a section of the source" % (a + 1, k))
            elif not any(mark_key(x) == k for x in MARK.finditer(body)):
                errors.append("line %d: §%s in the heading is not quoted under it" % (a + 1, k))
    # Text: every mark followed by its quote, and the quote inside that section.
    # One string: a quote may follow its mark after a line break.
    joined = " ".join(l.strip() for l in lines if not l.startswith("#"))
    for m in MARK.finditer(joined):
        k = mark_key(m)
        where = joined[max(0, m.start() - 30):m.end() + 10]
        if k not in secs:
            errors.append("§%s is not a section of the source (near %r)" % (k, where))
            continue
        q = re.match(r"[\s:：]*「([^「」]*)」", joined[m.end():])
        if q is None:
            errors.append("§%s has no 「quote」 right after it (near %r)" % (k, where))
        elif norm(q.group(1)) not in secs[k]:
            errors.append("§%s: 「%s」 is not in that section of the source" % (k, q.group(1)))
    return errors


SELFTEST_SOURCE = """一、总体
（一）甲。
1. 对未取得许可的企业从事燃气经营的，要依法责令关停；对城镇燃气
经营企业

依法从重处罚。
2. 不得在液化气运输中,从事液化气经营行为。
二、其他
(一) 乙。
1. 谁检查、谁签名、谁负责
"""


def selftest():
    secs = sections(SELFTEST_SOURCE)
    good = ("# T\n## A (§一(一)1)\n- x §一(一)1: 「对未取得许可的企业从事燃气经营的，"
            "要依法责令关停」 and §一(一)2 「不得在液化气运输中，从事液化气经营行为」\n"
            "- split 「对城镇燃气经营企业依法从重」 §二(一)1\n  「谁检查、谁签名、谁负责」\n")
    bad = {
        "quote not in the source": "- 「要依法责令吊销」\n",
        "has no 「quote」": "- §一(一)1 names no words\n",
        "not in that section": "- §二(一)1 「要依法责令关停」\n",
        "not a section": "- §三(一)1 「要依法责令关停」\n",
        "not quoted under it": "## B (§一(一)2)\n- 「依法从重处罚」\n",
        "empty quote": "- 「 」\n",
    }
    problems = check(good, secs)
    if problems:
        return ["selftest: a good document was refused: %s" % problems]
    out = []
    for want, doc in bad.items():
        got = check(doc, secs)
        if not any(want in e for e in got):
            out.append("selftest: %r not caught in %r (got %s)" % (want, doc, got))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    errors = selftest()
    sources = sorted(glob.glob(os.path.join(sys.argv[2], "*.txt")))
    if not sources:
        errors.append("no source documents in %s" % sys.argv[2])
    text = "\n".join(open(p, encoding="utf-8").read() for p in sources)
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = f.read()
    secs = sections(text)
    errors += check(doc, secs)
    n_quotes = len(QUOTE.findall(doc))
    n_marks = len(MARK.findall(doc))
    if n_quotes == 0:
        errors.append("%s quotes nothing" % sys.argv[1])
    for e in errors:
        print("FAIL", e)
    if errors:
        sys.exit(1)
    print("ok: %d quotes, %d section marks checked against %s" %
          (n_quotes, n_marks, ", ".join(os.path.basename(p) for p in sources)))


if __name__ == "__main__":
    main()
