# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows implementation of ca_trust (win_ca_trust.ps1), checked without Windows.

No PowerShell runtime exists on this machine, so win_ca_trust.ps1 is parsed with the tree-sitter PowerShell grammar (no
error nodes allowed) and its ``$spec`` hashtable is evaluated from the syntax tree and compared with the module's
documentation and with the Linux implementation's argument_spec: options, types, choices, defaults, elements,
no_log, mutually_exclusive, required_if and check mode support.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_powershell = pytest.importorskip("tree_sitter_powershell")

from ansible_collections.edgeops.gateway.plugins.doc_fragments import ca_trust as fragment
from ansible_collections.edgeops.gateway.plugins.modules import ca_trust, win_ca_trust

PS1 = Path(win_ca_trust.__file__).with_suffix(".ps1")


def parse(source):
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(source)


def error_nodes(node):
    found = []
    if node.type == "ERROR" or node.is_missing:
        found.append(node)
    for child in node.children:
        found.extend(error_nodes(child))
    return found


class Evaluator:
    """Evaluates the literal subset of PowerShell used in an Ansible.Basic spec: hashtables, arrays, strings,
    $true/$false/$null and integers."""

    def __init__(self, source):
        self.source = source

    def text(self, node):
        return self.source[node.start_byte : node.end_byte].decode()

    def value(self, node):
        kind = node.type
        named = [c for c in node.children if c.is_named]
        if kind == "hash_literal_expression":
            body = [c for c in node.children if c.type == "hash_literal_body"]
            return self.hashtable(body[0]) if body else {}
        if kind == "array_expression":
            inner = [c for c in node.children if c.type == "statement_list"]
            if not inner:
                return []
            result = self.value(inner[0])
            return result if isinstance(result, list) else [result]
        if kind == "array_literal_expression" and len(named) > 1:
            return [self.value(c) for c in named]
        if kind == "expression_with_unary_operator":
            operator = node.children[0].type
            if operator != ",":
                raise AssertionError(f"unsupported unary operator {operator!r} in the spec")
            return [self.value(named[0])]
        if kind == "string_literal":
            raw = self.text(node)
            if raw.startswith("'"):
                return raw[1:-1].replace("''", "'")
            if "$" in raw[1:-1] or "`" in raw[1:-1]:
                raise AssertionError(f"expandable string {raw} in the spec")
            return raw[1:-1]
        if kind == "variable":
            constants = {"$true": True, "$false": False, "$null": None}
            raw = self.text(node).lower()
            if raw not in constants:
                raise AssertionError(f"variable {raw} in the spec")
            return constants[raw]
        if kind in ("integer_literal", "decimal_integer_literal"):
            return int(self.text(node))
        if len(named) == 1:
            return self.value(named[0])
        raise AssertionError(f"unsupported node {kind}: {self.text(node)[:60]!r}")

    def hashtable(self, body):
        result = {}
        for entry in body.children:
            if entry.type != "hash_entry":
                continue
            key = next(c for c in entry.children if c.type == "key_expression")
            value = next(c for c in entry.children if c.type == "pipeline")
            result[self.text(key)] = self.value(value)
        return result


def find_spec(source, tree):
    """The value assigned to $spec at the top of the script."""

    def walk(node):
        if node.type == "assignment_expression":
            target = node.children[0]
            if source[target.start_byte : target.end_byte].decode().strip().lower() == "$spec":
                return next(c for c in node.children if c.type == "pipeline")
        for child in node.children:
            found = walk(child)
            if found is not None:
                return found
        return None

    pipeline = walk(tree.root_node)
    assert pipeline is not None, "no $spec assignment in win_ca_trust.ps1"
    return Evaluator(source).value(pipeline)


@pytest.fixture(scope="module")
def ps1_source():
    return PS1.read_bytes()


@pytest.fixture(scope="module")
def ps1_spec(ps1_source):
    return find_spec(ps1_source, parse(ps1_source))


@pytest.fixture(scope="module")
def python_spec():
    captured = {}

    class Capture:
        def __init__(self, **kwargs):
            captured.update(kwargs)
            raise RuntimeError("captured")

    original = ca_trust.AnsibleModule
    ca_trust.AnsibleModule = Capture
    try:
        with pytest.raises(RuntimeError, match="captured"):
            ca_trust.main()
    finally:
        ca_trust.AnsibleModule = original
    return captured


@pytest.fixture(scope="module")
def documented():
    """The options as ansible-doc shows them for both modules: they come from the shared doc fragment.

    ca_trust documents one more of its own, handshake (Linux only), which win_ca_trust does not take.
    """
    for module in (ca_trust, win_ca_trust):
        doc = yaml.safe_load(module.DOCUMENTATION)
        assert "edgeops.gateway.ca_trust" in doc["extends_documentation_fragment"]
        assert list(doc.get("options", {})) == (["handshake"] if module is ca_trust else [])
    return yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]


def test_ps1_parses_without_error_nodes(ps1_source):
    tree = parse(ps1_source)
    errors = error_nodes(tree.root_node)
    where = [f"line {n.start_point[0] + 1}: {ps1_source[n.start_byte : n.end_byte][:60]!r}" for n in errors]
    assert not tree.root_node.has_error, where
    assert errors == []


def test_the_parser_does_flag_broken_powershell(ps1_source):
    # The check above can fail: a missing closing brace and a broken hashtable are reported.
    broken = ps1_source.replace(b"finally {\n    $store.Close()\n}", b"finally {\n    $store.Close(\n")
    assert broken != ps1_source
    assert parse(broken).root_node.has_error
    assert parse(b"$spec = @{ options = @{ state = @{ type = 'str'; ").root_node.has_error


def test_ps1_uses_ansible_basic(ps1_source):
    text = ps1_source.decode()
    assert text.startswith("#!powershell\n")
    assert "#AnsibleRequires -CSharpUtil Ansible.Basic" in text
    assert "[Ansible.Basic.AnsibleModule]::Create($args, $spec)" in text
    assert "GNU General Public License v3.0+" in text


def test_ps1_options_match_the_documentation(ps1_spec, documented):
    options = ps1_spec["options"]
    assert sorted(options) == sorted(documented)
    for name, doc in documented.items():
        spec = options[name]
        assert spec.get("type") == doc.get("type", "str"), name
        assert spec.get("choices") == doc.get("choices"), name
        assert spec.get("default") == doc.get("default"), name
        assert spec.get("elements") == doc.get("elements"), name
        assert spec.get("required", False) == doc.get("required", False), name


def test_ps1_spec_matches_the_linux_argument_spec(ps1_spec, python_spec):
    # handshake is Linux only: the action plugin leaves it out on Windows hosts (the check is Python).
    py_options = {name: spec for name, spec in python_spec["argument_spec"].items() if name != "handshake"}
    assert "handshake" in python_spec["argument_spec"]
    assert ps1_spec["options"] == py_options
    assert ps1_spec["options"]["content"]["no_log"] is True
    assert ps1_spec["mutually_exclusive"] == [list(group) for group in python_spec["mutually_exclusive"]]
    expected_required_if = [[*rule[:2], list(rule[2]), *rule[3:]] for rule in python_spec["required_if"]]
    assert ps1_spec["required_if"] == expected_required_if
    assert ps1_spec["supports_check_mode"] is python_spec["supports_check_mode"] is True


def test_python_spec_matches_the_documentation(python_spec, documented):
    for name, doc in documented.items():
        spec = python_spec["argument_spec"][name]
        assert spec.get("type") == doc.get("type", "str"), name
        assert spec.get("choices") == doc.get("choices"), name
        assert spec.get("default") == doc.get("default"), name
        assert spec.get("elements") == doc.get("elements"), name


def test_evaluator_reads_nested_arrays_like_powershell():
    source = b"$spec = @{ a = @(, @('x', 'y')); b = @(@('p', 1), @('q', 2)); c = @('only'); d = 'it''s' }"
    spec = find_spec(source, parse(source))
    assert spec == {"a": [["x", "y"]], "b": [["p", 1], ["q", 2]], "c": ["only"], "d": "it's"}
