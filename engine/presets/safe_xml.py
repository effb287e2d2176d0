"""A small XML reader for files from outside (Ableton ``.agr`` grooves) that cannot be turned
against Quanta.

Built on the standard library's expat parser, with every door a hostile file could use shut:

- a document type declaration (``<!DOCTYPE``) is refused outright, so no entity can be declared
  (no "billion laughs" expansion, no external entity pulling in ``/etc/passwd`` or a URL);
  entity and external-reference handlers refuse as a second guard, and parameter entities are
  never parsed;
- nesting deeper than :data:`MAX_DEPTH` and more than :data:`MAX_ELEMENTS` elements are refused
  while parsing (the tree is never built past the limit);
- the caller bounds the bytes (after any decompression) before they get here.

``defusedxml`` would give the same refusals; it wraps these same expat handlers, has had no
release since 2021, and the reader needs only elements and attributes, so a dependency buys
nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

MAX_DEPTH = 64  #: an .agr is about 12 levels deep
MAX_ELEMENTS = 200_000


class XmlRefused(Exception):
    """The document is not acceptable; the message says why in a few words."""


@dataclass
class Element:
    """One element: its tag, attributes and child elements (text is not kept: .agr has none)."""

    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)

    def child(self, tag: str) -> Element | None:
        """The first child with this tag, or None."""
        return next((c for c in self.children if c.tag == tag), None)

    def find(self, path: str) -> Element | None:
        """The first element along a ``A/B/C`` path of child tags, or None."""
        node: Element | None = self
        for tag in path.split("/"):
            node = node.child(tag) if node is not None else None
        return node

    def find_all(self, path: str) -> list[Element]:
        """Every element along a ``A/B/C`` path (each step may match several children)."""
        nodes = [self]
        for tag in path.split("/"):
            nodes = [c for n in nodes for c in n.children if c.tag == tag]
        return nodes


def parse(data: bytes) -> Element:
    """Parse ``data`` into an :class:`Element` tree, or raise :class:`XmlRefused`."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    root: list[Element] = []
    count = 0

    def refuse(what: str):
        def handler(*_args):
            raise XmlRefused(what)

        return handler

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise XmlRefused(f"has more than {MAX_ELEMENTS} XML elements")
        if len(stack) >= MAX_DEPTH:
            raise XmlRefused(f"is nested more than {MAX_DEPTH} XML levels deep")
        node = Element(tag, attrs)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse("has a DOCTYPE declaration (refused: entities)")
    parser.EntityDeclHandler = refuse("declares an XML entity (refused)")
    parser.UnparsedEntityDeclHandler = refuse("declares an XML entity (refused)")
    parser.ExternalEntityRefHandler = refuse("refers to an external entity (refused)")
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlRefused(
            f"is not well-formed XML (line {exc.lineno}, column {exc.offset}: "
            f"{expat.ErrorString(exc.code)})"
        ) from None
    except (LookupError, UnicodeError, ValueError) as exc:  # encoding="UPF-8" and the like
        raise XmlRefused(f"has an XML text encoding that cannot be read ({str(exc)[:80]})") from None
    except RecursionError:  # pragma: no cover - the depth limit stops well before
        raise XmlRefused("is nested too deeply") from None
    if not root:
        raise XmlRefused("has no XML root element")
    return root[0]
