r"""A griffe extension for the docs build: reads the docstrings' reST bits as Markdown.

The library's docstrings are numpydoc with a few Sphinx roles and directives (``:func:`x```,
``:math:`x```, ``.. math::``, literal blocks after ``::``). mkdocstrings renders Markdown, so
before parsing, each docstring is rewritten: roles become inline code, inline math becomes
``\( ... \)`` and math blocks ``\[ ... \]`` (rendered by MathJax through arithmatex), and a
paragraph's closing ``::`` becomes ``:`` (the indented block after it is already code).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc|ref):`~?([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"(\S)::\n")


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(".. math::"):
            indent = line[: len(line) - len(line.lstrip())]
            first = stripped[len(".. math::") :].strip()
            body = [first] if first else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(indent + " ")):
                body.append(lines[i].strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            out += ["", f"{indent}\\[", *[f"{indent}{b}" for b in body if b], f"{indent}\\]", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def markdown(text: str) -> str:
    """Rewrite the reST bits of one docstring as Markdown."""
    text = _math_blocks(text)
    text = _MATH.sub(lambda m: f"\\({m.group(1)}\\)", text)
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    return _LITERAL.sub(r"\1:\n", text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of ``obj``, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
