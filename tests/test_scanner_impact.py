"""Where a finding's code runs decides its impact: loops that repeat it, code that leaves the loop after one
pass, loops bound by their output, and files that run once per build."""

from __future__ import annotations

import textwrap

from greencode.tactics.scanner import Finding, scan_source


def findings(code: str, path: str = "pkg/module.py") -> list[Finding]:
    return list(scan_source(textwrap.dedent(code), path))


KEYWORDS = """
import re
def keywords(lines):
    for line in lines:
        re.search("x+", line)
"""


def only(code: str, rule: str, path: str = "pkg/module.py") -> Finding:
    found = [f for f in findings(code, path) if f.rule == rule]
    assert len(found) == 1, found
    return found[0]


def test_a_loop_over_a_parameter_is_high_impact() -> None:
    code = """
    import re
    def grep(lines):
        for line in lines:
            re.search("x+", line)
    """
    assert only(code, "GRN007").impact == "high"


def test_code_followed_by_break_runs_once_per_loop_and_is_not_flagged() -> None:
    code = """
    import re
    def first(formats):
        for f in formats:
            f = re.sub("[^0]", "", f)
            break
    """
    assert [f.rule for f in findings(code)] == []


def test_code_followed_by_return_runs_once_per_call_and_is_not_flagged() -> None:
    code = """
    import re
    def first(lines):
        for line in lines:
            if line:
                return re.sub("#.*", "", line)
    """
    assert [f.rule for f in findings(code)] == []


def test_a_continue_before_the_break_repeats_the_block_but_only_over_a_prefix() -> None:
    code = """
    import re
    def header(lines):
        for line in lines:
            line = re.sub("#.*", "", line)
            if not line:
                continue
            break
    """
    finding = only(code, "GRN007")
    assert (finding.impact, finding.shown_by_default) == ("medium", False)
    assert "stops at the first item it does not skip" in finding.why


def test_a_loop_whose_body_ends_with_return_walks_a_prefix_too() -> None:
    code = """
    def first_new(tokens, seen):
        seen = sorted(seen)
        for token in tokens:
            if token in seen:
                continue
            return token
    """
    assert only(code, "GRN001").impact == "medium"


def test_a_break_under_an_if_at_the_end_of_the_body_keeps_the_loop_heavy() -> None:
    code = """
    import re
    def until_blank(lines):
        for line in lines:
            re.sub("#.*", "", line)
            if not line:
                break
    """
    assert only(code, "GRN007").impact == "high"


def test_a_break_of_an_inner_loop_does_not_stop_the_outer_one() -> None:
    code = """
    import re
    def scan(blocks):
        for block in blocks:
            for line in block:
                re.search("x+", line)
            break
    """
    # the inner loop still repeats the search; only the outer loop runs once
    assert only(code, "GRN007").why.startswith("in a loop over data of unknown size")


def test_a_loop_that_prints_every_pass_is_at_most_medium_impact() -> None:
    code = """
    import re
    def report(errors):
        for error in errors:
            print(re.sub("[a-z]", " ", error))
    """
    finding = only(code, "GRN007")
    assert finding.impact == "medium" and "prints on every pass" in finding.why


def test_a_print_under_an_if_does_not_make_the_loop_output_bound() -> None:
    code = """
    import re
    def grep(lines, verbose):
        for line in lines:
            if verbose:
                print(line)
            re.search("x+", line)
    """
    assert only(code, "GRN007").impact == "high"


def test_versioneer_files_run_once_and_are_low_impact() -> None:
    code = KEYWORDS
    for path in ("versioneer.py", "pkg/_version.py"):
        finding = only(code, "GRN007", path)
        assert finding.impact == "low" and not finding.shown_by_default


def test_a_list_searched_in_one_plain_loop_is_medium_impact_and_needs_all() -> None:
    code = """
    def dedupe(items):
        seen = []
        for item in items:
            if item not in seen:
                seen.append(item)
    """
    finding = only(code, "GRN001")
    assert (finding.impact, finding.confidence, finding.shown_by_default) == ("medium", "medium", False)
    assert "one plain loop" in finding.why


def test_a_list_searched_in_nested_loops_is_shown() -> None:
    code = """
    def common(groups, wanted):
        names = list(wanted)
        for group in groups:
            for name in group:
                if name in names:
                    yield name
    """
    finding = only(code, "GRN001")
    assert finding.impact == "high" and finding.shown_by_default and "nested loops" in finding.why


def test_a_list_searched_in_a_while_loop_is_shown() -> None:
    code = """
    def scan(pos, symbols):
        special = list(symbols)
        while not pos.finished():
            if pos.current() in special:
                pos.skip()
    """
    assert only(code, "GRN001").shown_by_default


def test_a_regex_per_line_of_a_text_is_shown() -> None:
    code = """
    import re
    def indents(text):
        return [re.match("[ ]*", line) for line in text.splitlines()]
    """
    finding = only(code, "GRN007")
    assert finding.impact == "high" and finding.shown_by_default and "input's elements" in finding.why


def test_a_regex_per_field_of_a_small_structure_needs_all() -> None:
    code = """
    import re
    def names(fields):
        for name, spec in fields:
            re.split("[.[]", name)
    """
    finding = only(code, "GRN007")
    assert finding.impact == "medium" and not finding.shown_by_default


def test_loops_over_lines_tokens_nodes_streams_and_files_are_over_an_input() -> None:
    iterables = [
        "lines",
        "self.tokens",
        "txtnodes",
        "stream",
        "enumerate(words)",
        "get_tokens_unprocessed(text)",
        "text.split('\\n')",
        "re.finditer('a', text)",
        "open(path)",
        "f.readlines()",
        "rows[1:]",
    ]
    for iterable in iterables:
        code = (
            "import re\ndef f(path, text, f, lines, stream, words, txtnodes, rows):\n"
            f"    for x in {iterable}:\n        re.search('a+', x)\n"
        )
        assert only(code, "GRN007").shown_by_default, iterable


def test_loops_over_other_collections_are_not_over_an_input() -> None:
    for iterable in ("items", "self.fields", "header", "parts", "context", "s.split(',')", "d.items()"):
        code = f"import re\ndef f(items, header, parts, context, s, d):\n    for x in {iterable}:\n"
        code += "        re.match('', x)\n"
        assert not only(code, "GRN007").shown_by_default, iterable


def test_rules_without_the_heavy_loop_rule_stay_high_in_one_plain_loop() -> None:
    code = """
    def drain(tasks):
        pending = list(tasks)
        for _ in tasks:
            pending.pop(0)
    """
    assert only(code, "GRN003").impact == "high"


def test_a_loop_invariant_walk_in_one_plain_loop_needs_all() -> None:
    code = """
    def normalise(scores):
        for s in scores:
            yield s / max(scores)
    """
    assert not only(code, "GRN038").shown_by_default


def test_a_list_rebuilt_on_every_pass_and_searched_once_is_not_flagged() -> None:
    code = """
    def recursive(terms):
        for term in terms:
            for child in term.children:
                ids = [id(x) for x in child.iter_subtrees()]
                if id(term) in ids:
                    raise ValueError(term)
    """
    assert [f.rule for f in findings(code)] == []


def test_a_list_rebuilt_per_pass_but_searched_in_an_inner_loop_is_flagged() -> None:
    code = """
    def pick(groups, candidates):
        for group in groups:
            taken = list(group)
            yield [c for c in candidates if c not in taken]
    """
    assert only(code, "GRN001").shown_by_default


def test_insert_front_while_walking_up_a_chain_needs_all() -> None:
    code = """
    def scopes(die):
        names = []
        parent = die.get_parent()
        while parent and parent.tag == "namespace":
            names.insert(0, parent.name)
            parent = parent.get_parent()
        return names
    """
    finding = only(code, "GRN002")
    assert finding.impact == "medium" and not finding.shown_by_default and "walks one chain" in finding.why


def test_insert_front_per_digit_of_a_number_needs_all() -> None:
    code = """
    def letters(n):
        out = []
        while n:
            n, digit = divmod(n, 26)
            out.insert(0, chr(65 + digit))
        return out
    """
    assert not only(code, "GRN002").shown_by_default


def test_insert_front_while_draining_a_list_is_shown() -> None:
    code = """
    def sequence(degrees):
        ds = sorted(degrees)
        cs = []
        while ds:
            d = ds.pop()
            cs.insert(0, d)
            ds = [x - 1 for x in ds]
        return cs
    """
    assert only(code, "GRN002").shown_by_default


def test_a_counter_while_loop_over_a_list_is_not_a_chain() -> None:
    code = """
    def backwards(xs):
        out = []
        i = 0
        while i < len(xs):
            out.insert(0, xs[i])
            i += 1
        return out
    """
    assert only(code, "GRN002").shown_by_default


def test_a_loop_that_prints_in_both_branches_of_an_if_is_output_bound() -> None:
    code = """
    def dump(states, labels):
        labels = list(labels)
        for state in states:
            for arc in state.arcs:
                if arc.label is None:
                    print("->", states.index(arc.next))
                else:
                    print(arc.label, "->", arc.next in labels)
    """
    finding = only(code, "GRN001")
    assert "prints on every pass" in finding.why and not finding.shown_by_default


def test_a_print_in_one_branch_only_does_not_make_the_loop_output_bound() -> None:
    code = """
    def trace(states, labels):
        labels = list(labels)
        for state in states:
            for arc in state.arcs:
                if arc.label is None:
                    print("->", arc.next)
                elif arc.label in labels:
                    arc.mark()
    """
    finding = only(code, "GRN001")
    assert finding.impact == "high" and finding.shown_by_default


def test_a_rule_that_needs_heavy_loops_is_unsure_in_a_loop_that_prints() -> None:
    code = """
    def report(rows, known):
        known = list(known)
        for row in rows:
            for cell in row:
                print(cell, cell in known)
    """
    finding = only(code, "GRN001")
    assert (finding.impact, finding.confidence) == ("medium", "medium")


def test_files_under_a_vendored_directory_are_low_impact() -> None:
    code = KEYWORDS
    for path in ("pkg/_vendor/six.py", "third_party/lib2to3/pgen2/conv.py", "src/vendor/x.py"):
        finding = only(code, "GRN007", path)
        assert (finding.impact, finding.role) == ("low", "vendored") and "upstream" in finding.why


def test_a_directory_merely_named_like_vendor_is_product_code() -> None:
    code = KEYWORDS
    assert only(code, "GRN007", "pkg/vendors/parse.py").impact == "high"


def test_a_dedupe_list_emptied_per_pass_of_an_outer_loop_counts_only_the_inner_loop() -> None:
    code = """
    def comments(messages):
        for message in messages:
            locs = []
            for location in message.locations:
                if location not in locs:
                    locs.append(location)
            yield locs
    """
    finding = only(code, "GRN001")
    assert (finding.impact, finding.shown_by_default) == ("medium", False)
    assert "one plain loop" in finding.why and "makes afresh on each pass" in finding.why


def test_a_dedupe_list_kept_across_the_outer_loop_stays_heavy() -> None:
    code = """
    def reachable(graph, start):
        seen = []
        for node in graph:
            for neighbour in graph[node]:
                if neighbour not in seen:
                    seen.append(neighbour)
        return seen
    """
    finding = only(code, "GRN001")
    assert finding.impact == "high" and finding.shown_by_default


def test_a_list_built_from_data_per_outer_pass_still_counts_the_outer_loops() -> None:
    code = """
    def pick(graph, rounds, order):
        while rounds:
            rounds -= 1
            for node in graph:
                banned = list(graph[node])
                banned.append(node)
                yield [n for n in order if n not in banned]
    """
    finding = only(code, "GRN001")
    assert finding.impact == "high" and finding.shown_by_default


def test_loops_in_init_walk_one_object_and_are_not_heavy() -> None:
    code = """
    class Config:
        def __init__(self, sources):
            self.paths = []
            for source in sources:
                for path in source.glob("*"):
                    if path not in self.paths:
                        self.paths.append(path)
            found = []
            for source in sources:
                for path in source.glob("*"):
                    if path not in found:
                        found.append(path)
    """
    finding = only(code, "GRN001")
    assert (finding.impact, finding.shown_by_default) == ("medium", False)
    assert "once per object made" in finding.why


def test_the_same_loops_in_an_ordinary_method_are_heavy() -> None:
    code = """
    class Config:
        def collect(self, sources):
            found = []
            for source in sources:
                for path in source.glob("*"):
                    if path not in found:
                        found.append(path)
    """
    assert only(code, "GRN001").impact == "high"


def test_rules_without_the_heavy_loop_rule_stay_high_in_init() -> None:
    code = """
    class Queue:
        def __init__(self, jobs):
            pending = list(jobs)
            while pending:
                self.run(pending.pop(0))
    """
    assert only(code, "GRN003").impact == "high"


# -- round 5: a list an outer loop makes afresh holds one outer item's worth ------------------------------

DRAIN_PER_MODULE = """
def imports(modules):
    out = []
    for module in modules:
        names = list(module.names)
        while names:
            out.append(names.pop(0))
    return out
"""


def test_pop_front_on_a_list_made_afresh_per_outer_pass_is_left_to_all() -> None:
    finding = only(DRAIN_PER_MODULE, "GRN003")
    assert (finding.impact, finding.confidence, finding.shown_by_default) == ("medium", "medium", False)
    assert "one outer item's worth" in finding.why


def test_pop_front_on_a_list_kept_across_the_outer_loop_is_shown() -> None:
    # near miss: the same drain of one list made before the loop, as long as every module's names
    code = """
    def imports(modules):
        names = [name for module in modules for name in module.names]
        out = []
        while names:
            out.append(names.pop(0))
        return out
    """
    finding = only(code, "GRN003")
    assert (finding.impact, finding.shown_by_default) == ("high", True)


def test_readlines_in_a_loop_over_a_file_is_left_to_all() -> None:
    code = "def count(f):\n    n = 0\n    for line in f.readlines():\n        n += len(line)\n    return n\n"
    finding = only(code, "GRN028")
    assert (finding.confidence, finding.shown_by_default) == ("medium", False)
