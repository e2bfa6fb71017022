"""No function over 80 lines outside tests: a brace-counting scan of every
`src/` under crates/, bench-harness/ and examples/.

  python3 scripts/fn-length.py              self-test, then scan (scripts/test)
  python3 scripts/fn-length.py --self-test  the scanner's own tests only
  python3 scripts/fn-length.py FILE.rs ...  scan these files only

A function's length counts every line from the one holding `fn` to the one
holding its body's closing brace. Strings (raw ones too), chars and comments
are blanked before braces are counted; a lifetime ('a) is not a char. Items
under a test attribute (`#[cfg(test)]`, `#[cfg(all(test, ...))]`, `#[test]`)
are not scanned, nor are files under src/ named tests/ or benches/.

Exceptions live in scripts/fn-length.d/allow.txt, one function a line
(`PATH NAME  # reason`), every entry with its reason. The scan reports them,
and fails on an entry that no longer matches a long function, so the list
can only shrink.
"""

import os
import re
import sys
import tempfile
import unittest

LIMIT = 80
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ALLOW = os.path.join("scripts", "fn-length.d", "allow.txt")

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")
# Keywords that open an item: an attribute on one covers up to its `;` or
# its braced body (a field or a statement also ends at a `,`).
ITEM_WORDS = {
    "fn", "mod", "impl", "struct", "enum", "union", "trait", "const", "static",
    "use", "type", "macro_rules", "extern", "unsafe", "async", "pub",
}


def blank(text):
    """`text` with comments, strings and chars replaced by spaces; newlines
    (so line numbers) kept."""
    out = list(text)
    n = len(text)
    i = 0

    def wipe(a, b):
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            wipe(i, j)
            i = j
        elif c == "r" and raw_string_start(text, i):
            hashes = 0
            j = i + 1
            while text[j] == "#":
                hashes, j = hashes + 1, j + 1
            close = '"' + "#" * hashes
            end = text.find(close, j + 1)
            end = n if end < 0 else end + len(close)
            wipe(i, end)
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            wipe(i, j + 1)
            i = j + 1
        elif c == "'":
            if nxt == "\\":
                # An escaped char: '\n', '\'', '\u{7b}'.
                j = i + 3
                while j < n and text[j] != "'":
                    j += 1
                wipe(i, j + 1)
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'" and nxt != "\n":
                wipe(i, i + 3)
                i += 3
            else:
                # A lifetime or a label: 'a, 'static, 'outer.
                i += 1
        else:
            i += 1
    return "".join(out)


def raw_string_start(text, i):
    """Whether the `r` at `i` opens a raw string (r"..", r#".."#, br"..",
    cr"..") rather than a raw identifier (r#type). In Rust no identifier
    ends right before a quote, so the `r` needs no look behind."""
    j = i + 1
    while j < len(text) and text[j] == "#":
        j += 1
    return j < len(text) and text[j] == '"'


def tokens(text):
    """(token, line) pairs of blanked `text`, lines from 1."""
    out = []
    for number, line in enumerate(blank(text).split("\n"), start=1):
        out.extend((m.group(0), number) for m in TOKEN.finditer(line))
    return out


def matching(toks):
    """Index of each `{`'s closing `}` (unbalanced ones left out)."""
    close, stack = {}, []
    for k, (t, _) in enumerate(toks):
        if t == "{":
            stack.append(k)
        elif t == "}" and stack:
            close[stack.pop()] = k
    return close


def attribute_end(toks, k):
    """Index after the attribute `#[...]` or `#![...]` starting at `k`, or None."""
    j = k + 1
    if j < len(toks) and toks[j][0] == "!":
        j += 1
    if j >= len(toks) or toks[j][0] != "[":
        return None
    depth = 0
    while j < len(toks):
        if toks[j][0] == "[":
            depth += 1
        elif toks[j][0] == "]":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


def is_test_attribute(words):
    text = "".join(words)
    if text == "#[test]":
        return True
    return text.startswith("#[cfg(") and re.search(r"\btest\b", " ".join(words)) is not None \
        and "not(test" not in text.replace(" ", "")


def item_end(toks, k, close):
    """The item an outer attribute ending at `k` covers: (last index, the
    name of a `mod NAME;` declared there or None)."""
    j = k
    while j < len(toks) and toks[j][0] == "#":
        after = attribute_end(toks, j)
        if after is None:
            break
        j = after
    is_item = j < len(toks) and toks[j][0] in ITEM_WORDS
    depth = 0
    start = j
    while j < len(toks):
        t = toks[j][0]
        if t in "([":
            depth += 1
        elif t in ")]":
            depth -= 1
        elif t == "{" and depth == 0:
            return close.get(j, len(toks) - 1), None
        elif t == "}" and depth == 0:
            return j - 1, None
        elif t == ";" and depth == 0:
            words = [w for w, _ in toks[start:j]]
            if "mod" in words and words.index("mod") + 1 < len(words):
                return j, words[words.index("mod") + 1]
            return j, None
        elif t == "," and depth == 0 and not is_item:
            return j, None
        j += 1
    return len(toks) - 1, None


def functions(text):
    """Every function with a body outside test items, as (line, name,
    length); and the names of test-only modules declared as `mod NAME;`."""
    toks = tokens(text)
    close = matching(toks)
    test_until = -1
    found, test_mods = [], []
    k = 0
    while k < len(toks):
        t = toks[k][0]
        if k > test_until and t == "#":
            after = attribute_end(toks, k)
            if after is not None:
                if is_test_attribute([w for w, _ in toks[k:after]]) and toks[k + 1][0] != "!":
                    test_until, declared = item_end(toks, after, close)
                    if declared:
                        test_mods.append(declared)
                k = after
                continue
        if k > test_until and t == "fn" and k + 1 < len(toks) and IDENT.fullmatch(toks[k + 1][0]):
            body = body_start(toks, k + 2)
            if body is not None and body in close:
                first, last = toks[k][1], toks[close[body]][1]
                found.append((first, toks[k + 1][0], last - first + 1))
        k += 1
    return found, test_mods


def body_start(toks, k):
    """Index of the `{` opening the body of the fn whose signature starts at
    `k`, or None for a declaration (`fn f();`)."""
    depth = 0
    while k < len(toks):
        t = toks[k][0]
        if t in "([":
            depth += 1
        elif t in ")]":
            depth -= 1
        elif depth == 0 and t == "{":
            return k
        elif depth == 0 and t in ";}":
            return None
        k += 1
    return None


def source_files(root):
    """Every .rs file under a `src/` of crates/*, bench-harness and
    examples/*, relative to `root`, sorted; tests/ and benches/ left out."""
    tops = []
    for parent in ("crates", "examples"):
        base = os.path.join(root, parent)
        if os.path.isdir(base):
            tops += [os.path.join(base, d) for d in sorted(os.listdir(base))]
    tops.append(os.path.join(root, "bench-harness"))
    files = []
    for top in tops:
        src = os.path.join(top, "src")
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = sorted(d for d in dirnames if d not in ("tests", "benches", "target"))
            files += [os.path.join(dirpath, f) for f in filenames if f.endswith(".rs")]
    return sorted(os.path.relpath(f, root) for f in files)


def module_files(path, name):
    """The files a `mod NAME;` in `path` may live in."""
    here = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem not in ("lib", "main", "mod"):
        here = os.path.join(here, stem)
    return {os.path.join(here, name + ".rs"), os.path.join(here, name, "mod.rs")}


def scan(root, files=None):
    """(path, line, name, length) of every function over LIMIT lines."""
    files = source_files(root) if files is None else files
    long, test_only, counted = [], set(), 0
    for path in files:
        if path in test_only:
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            found, test_mods = functions(f.read())
        for name in test_mods:
            test_only |= module_files(path, name)
        counted += len(found)
        long += [(path, line, name, n) for line, name, n in found if n > LIMIT]
    return long, len(files), counted


def read_allow(path):
    """{(path, name): reason} from the allow-list; every entry needs a reason."""
    allowed = {}
    if not os.path.exists(path):
        return allowed
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            entry, _, reason = line.partition("#")
            if not entry.strip():
                continue
            parts = entry.split()
            if len(parts) != 2 or not reason.strip():
                raise ValueError(f"{path}:{number}: want 'PATH NAME  # reason', got {line.strip()!r}")
            allowed[(parts[0], parts[1])] = reason.strip()
    return allowed


def report(long, allowed):
    """The lines to print and whether the scan passes."""
    lines, failures = [], []
    used = set()
    for path, line, name, n in long:
        if (path, name) in allowed:
            used.add((path, name))
            lines.append(f"allowed: {path}:{line} {name}: {n} lines ({allowed[(path, name)]})")
        else:
            failures.append(f"  {path}:{line} {name}: {n} lines")
    stale = [f"  {p} {n}" for (p, n) in sorted(allowed) if (p, n) not in used]
    if failures:
        lines.append(f"FAIL: {len(failures)} function(s) over {LIMIT} lines outside tests "
                     "(every line from `fn` to the closing brace); split them:")
        lines += failures
    if stale:
        lines.append(f"FAIL: {ALLOW} lists functions no longer over {LIMIT} lines; remove them:")
        lines += stale
    return lines, not failures and not stale


def main(argv):
    if argv[1:] == ["--self-test"]:
        return 0 if self_test(verbosity=2) else 1
    if len(argv) > 1:
        long, nfiles, nfns = scan(ROOT, [os.path.relpath(os.path.abspath(p), ROOT) for p in argv[1:]])
        for path, line, name, n in long:
            print(f"{path}:{line} {name}: {n} lines")
        return 1 if long else 0
    if not self_test(verbosity=0):
        print("FAIL: scripts/fn-length.py's own tests fail (--self-test shows them)")
        return 1
    long, nfiles, nfns = scan(ROOT)
    lines, ok = report(long, read_allow(os.path.join(ROOT, ALLOW)))
    print("\n".join(lines + [f"fn-length: {nfns} functions in {nfiles} files, "
                             f"{len(long)} over {LIMIT} lines" + ("" if ok else "; FAILED")]))
    return 0 if ok else 1


class Tests(unittest.TestCase):
    def lengths(self, text):
        return [(name, n) for _, name, n in functions(text)[0]]

    def test_counts_every_line_from_fn_to_the_closing_brace(self):
        self.assertEqual(self.lengths("fn a() {}\n\nfn b(\n    x: u8,\n) -> u8 {\n    x\n}\n"),
                         [("a", 1), ("b", 5)])
        text = "pub fn f() {\n" + "    g();\n" * 79 + "}\n"
        self.assertEqual(functions(text)[0], [(1, "f", 81)])

    def test_braces_in_strings_chars_and_comments_do_not_count(self):
        text = ('fn f() {\n    let s = "}}} \\" {";\n    let c = \'}\';\n    let d = \'\\\'\';\n'
                "    // }\n    /* } /* nested } */ } */\n    let e = '\\u{7b}';\n    let q = '\"';\n"
                "}\nfn g() {}\n")
        self.assertEqual(self.lengths(text), [("f", 9), ("g", 1)])

    def test_raw_strings_and_byte_strings(self):
        text = ('fn f() {\n    let a = r#"}"{"#;\n    let b = br"}";\n    let c = b\'{\';\n'
                '    let d = r##"a "# }"##;\n    let e = r#"x"}"#;\n    let r#type = 1;\n}\n'
                'fn g() {}\n')
        self.assertEqual(self.lengths(text), [("f", 8), ("g", 1)])

    def test_lifetimes_and_labels_are_not_chars(self):
        text = ("fn f<'a>(x: &'a str) -> &'a str {\n    'outer: loop {\n        break 'outer;\n"
                "    }\n    x\n}\nfn g<'b>(_: &'b u8) {}\n"
                # Unformatted, but Rust: a lifetime right before a brace.
                "fn h<'a, T>(_: &'a T) where T: 'a{\n}\n")
        self.assertEqual(self.lengths(text), [("f", 6), ("g", 1), ("h", 2)])

    def test_closures_and_nested_fns(self):
        text = ("fn outer() {\n    let c = |x: u8| {\n        x + 1\n    };\n    fn inner() {\n"
                "    }\n    c(1);\n}\n")
        self.assertEqual(self.lengths(text), [("outer", 8), ("inner", 2)])

    def test_fn_types_and_declarations_have_no_body(self):
        text = ("type F = fn(u8) -> u8;\ntrait T {\n    fn decl(&self);\n    fn with_default(&self) {\n"
                "    }\n}\nfn takes(f: fn(u8), a: [u8; 4]) {\n}\n")
        self.assertEqual(self.lengths(text), [("with_default", 2), ("takes", 2)])

    def test_test_items_are_left_out(self):
        text = ("fn kept() {}\n#[cfg(test)]\nmod tests {\n    fn helper() {}\n}\n"
                "#[cfg(all(test, loom))]\n#[allow(dead_code)]\npub(crate) mod model {\n    fn m() {}\n}\n"
                "#[test]\nfn t() {}\n#[cfg(not(test))]\nfn real() {}\n"
                "#[cfg(test)]\nconst X: [u8; 2] = [0, 1];\nfn after() {}\n")
        self.assertEqual(self.lengths(text), [("kept", 1), ("real", 1), ("after", 1)])

    def test_attributes_inside_bodies_and_on_fields(self):
        text = ("struct S {\n    #[cfg(test)]\n    probe: u8,\n    real: u8,\n}\n"
                "fn f() {\n    #[cfg(test)]\n    let x = 1;\n    g();\n}\n#![allow(x)]\nfn h() {}\n")
        self.assertEqual(self.lengths(text), [("f", 5), ("h", 1)])

    def test_test_modules_in_their_own_files_are_left_out(self):
        with tempfile.TemporaryDirectory() as root:
            src = os.path.join(root, "crates", "c", "src")
            os.makedirs(os.path.join(src, "a"))
            body = "fn long() {\n" + "    x();\n" * 90 + "}\n"
            files = {"lib.rs": "mod a;\n#[cfg(test)]\nmod tests;\n", "tests.rs": body,
                     "a.rs": "#[cfg(test)]\nmod more;\n" + body, os.path.join("a", "more.rs"): body}
            for name, text in files.items():
                with open(os.path.join(src, name), "w", encoding="utf-8") as f:
                    f.write(text)
            long, nfiles, _ = scan(root)
            self.assertEqual(nfiles, 4)
            self.assertEqual(long, [(os.path.join("crates", "c", "src", "a.rs"), 3, "long", 92)])

    def test_the_allow_list_is_reported_and_must_stay_true(self):
        long = [("x/src/a.rs", 3, "big", 90), ("x/src/b.rs", 9, "other", 85)]
        lines, ok = report(long, {("x/src/a.rs", "big"): "to be split"})
        self.assertFalse(ok)
        self.assertIn("allowed: x/src/a.rs:3 big: 90 lines (to be split)", lines)
        self.assertIn("  x/src/b.rs:9 other: 85 lines", lines)
        lines, ok = report(long[:1], {("x/src/a.rs", "big"): "r", ("x/src/gone.rs", "f"): "r"})
        self.assertFalse(ok)
        self.assertIn("  x/src/gone.rs f", lines)
        self.assertTrue(report(long[:1], {("x/src/a.rs", "big"): "r"})[1])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# header\n\nx/src/a.rs big  # why\n")
        try:
            self.assertEqual(read_allow(f.name), {("x/src/a.rs", "big"): "why"})
            with open(f.name, "a", encoding="utf-8") as g:
                g.write("x/src/b.rs other\n")
            self.assertRaises(ValueError, read_allow, f.name)
        finally:
            os.unlink(f.name)


def self_test(verbosity):
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Tests)
    stream = sys.stderr if verbosity else open(os.devnull, "w", encoding="utf-8")
    return unittest.TextTestRunner(stream=stream, verbosity=verbosity).run(suite).wasSuccessful()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
