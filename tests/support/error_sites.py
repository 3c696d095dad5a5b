"""Where our errors are made, read from the source with ``ast`` (for the error-code tests).

An error class of ours is a class of a package's ``errors`` module, or a subclass of one
anywhere in the code (found by importing every module and walking ``__subclasses__``). A *site*
is any call that constructs one: ``raise X(...)``, or ``failure = X(...)`` raised later. Names
are resolved the way Python would: in the module's globals and through every import statement
of the file, including those inside functions.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from command.errors import HTTP_STATUS

PACKAGES = ("command", "gis", "dispatch", "telephony", "plans", "video")
ROOT = Path(__file__).resolve().parents[2]
CODE_SHAPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def source_files(skipped: Iterable[str] = ()) -> list[Path]:
    """Every Python file of the packages, but those in ``skipped`` (paths from the root)."""
    skip = set(skipped)
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in skip
    ]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def error_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{package}.errors") for package in PACKAGES]


def error_classes() -> frozenset[type[BaseException]]:
    """The classes of the errors modules and all their subclasses in our packages."""
    for path in source_files():
        if path.name != "__main__.py":  # running it is the command line
            importlib.import_module(module_name(path))
    todo: list[type[BaseException]] = [
        value
        for module in error_modules()
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
    ]
    found: set[type[BaseException]] = set()
    while todo:
        cls = todo.pop()
        if cls not in found and cls.__module__.split(".")[0] in PACKAGES:
            found.add(cls)
            todo.extend(cls.__subclasses__())
    return frozenset(found)


def generic_codes() -> frozenset[str]:
    """The fallback codes: of each root and each class that says its own ``kind``."""
    return frozenset(
        str(getattr(value, "code"))  # noqa: B009 - every class of the errors modules has one
        for module in error_modules()
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__ and "kind" in vars(value)
    )


def status_of(cls: type[BaseException]) -> int:
    return HTTP_STATUS[str(getattr(cls, "kind"))]  # noqa: B009 - ClassVar of every root


@dataclass(frozen=True)
class Site:
    """One construction of one of our errors."""

    file: str
    line: int
    cls: type[BaseException]
    node: ast.Call
    #: the name of the exception an enclosing ``except ... as name`` caught
    caught: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def code_keyword(self) -> ast.expr | None:
        return next((k.value for k in self.node.keywords if k.arg == "code"), None)

    @property
    def forwards(self) -> bool:
        """It passes on the code of the error it caught (``code=exc.code``), which is
        checked where that error is made."""
        given = self.code_keyword
        return (
            isinstance(given, ast.Attribute)
            and given.attr == "code"
            and isinstance(given.value, ast.Name)
            and given.value.id == self.caught
        )

    @property
    def code(self) -> str | None:
        """The code this error answers with: the literal ``code=``, else its class's; None
        when it forwards a caught error's code."""
        given = self.code_keyword
        if isinstance(given, ast.Constant) and isinstance(given.value, str):
            return given.value
        if self.forwards:
            return None
        return str(getattr(self.cls, "code"))  # noqa: B009

    @property
    def status(self) -> int:
        return status_of(self.cls)

    @property
    def params(self) -> frozenset[str] | None:
        """The parameter names it carries; None when a ``**mapping`` hides them."""
        if any(k.arg is None for k in self.node.keywords):
            return None
        own = {k.arg for k in self.node.keywords if k.arg is not None and k.arg != "code"}
        return frozenset(own | set(_constructor_params(self.cls)))


def _own_init(cls: type[BaseException]) -> ast.Call | None:
    """The ``super().__init__(...)`` call of a class's own ``__init__`` (``InvalidTransition``
    builds its message); None for the roots' ``(message, *, code, **params)``."""
    init = next(vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c))
    if list(inspect.signature(init).parameters) == ["self", "message", "code", "params"]:
        return None
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    return next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
    )


def _constructor_params(cls: type[BaseException]) -> list[str]:
    """Parameters a class's own ``__init__`` passes up (``InvalidTransition``'s unit and
    statuses)."""
    call = _own_init(cls)
    return (
        []
        if call is None
        else [k.arg for k in call.keywords if k.arg is not None and k.arg != "code"]
    )


def computes_its_code(cls: type[BaseException]) -> bool:
    """Its ``__init__`` makes up the code (``f"position.{field}_invalid"``) rather than passing
    on the caller's ``code``: no list could name them all."""
    call = _own_init(cls)
    given = (
        None if call is None else next((k.value for k in call.keywords if k.arg == "code"), None)
    )
    return given is not None and not (isinstance(given, ast.Name) and given.id == "code")


def namespace(path: Path, tree: ast.Module) -> dict[str, Any]:
    """What the names of a file mean: its module's globals and every import it makes."""
    names: dict[str, Any] = {}
    if path.name != "__main__.py":
        names.update(vars(importlib.import_module(module_name(path))))
    names.update(imports_of(tree))
    return names


def imports_of(tree: ast.AST) -> dict[str, Any]:
    """The names every import statement in ``tree`` binds, wherever it stands."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = importlib.import_module(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    names[top] = importlib.import_module(top)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            module = importlib.import_module(node.module)
            for alias in node.names:
                if alias.name == "*":
                    continue
                value = getattr(module, alias.name, None)
                if value is None:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                names[alias.asname or alias.name] = value
    return names


def resolve(expr: ast.expr, names: Mapping[str, Any]) -> Any:
    """The object a ``Name`` or dotted ``Attribute`` stands for, None when it is not one."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = resolve(expr.value, names)
        return None if base is None else getattr(base, expr.attr, None)
    return None


def calls_to(
    tree: ast.AST, names: Mapping[str, Any], wanted: Collection[Any]
) -> Iterator[ast.Call]:
    """Every call in ``tree`` whose callee is one of the classes ``wanted``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            target = resolve(node.func, names)
            if isinstance(target, type) and target in wanted:
                yield node


def sites_in(
    source: str,
    file: str,
    names: Mapping[str, Any],
    classes: frozenset[type[BaseException]],
) -> list[Site]:
    tree = ast.parse(source)
    caught = {
        id(node): handler.name
        for handler in ast.walk(tree)
        if isinstance(handler, ast.ExceptHandler) and handler.name
        for statement in handler.body
        for node in ast.walk(statement)
    }
    return [
        Site(file, call.lineno, resolve(call.func, names), call, caught.get(id(call)))
        for call in calls_to(tree, names, classes)
    ]


def all_sites(classes: frozenset[type[BaseException]], skipped: Iterable[str]) -> list[Site]:
    found: list[Site] = []
    for path in source_files(skipped):
        source = path.read_text(encoding="utf-8")
        names = namespace(path, ast.parse(source))
        found += sites_in(source, path.relative_to(ROOT).as_posix(), names, classes)
    return found


def unworded(sites: Iterable[Site], generic: frozenset[str]) -> list[str]:
    """Sites a console could not word: no specific, literal, ``area.what`` code."""
    problems: list[str] = []
    for site in sites:
        name = site.cls.__name__
        given = site.code_keyword
        if computes_its_code(site.cls):
            problems.append(
                f"{site.where}: {name} makes up its code in __init__; take code= from the "
                "raise site instead"
            )
        elif given is None:
            if site.code in generic:
                problems.append(
                    f"{site.where}: {name}(...) has no code= and {name}'s own code "
                    f"{site.code!r} is generic"
                )
        elif site.forwards:
            continue
        elif not (isinstance(given, ast.Constant) and isinstance(given.value, str)):
            problems.append(f"{site.where}: {name}(...) code= is not a string literal")
        elif site.code in generic:
            problems.append(f"{site.where}: {name}(...) code={site.code!r} is generic")
        elif not CODE_SHAPE.fullmatch(site.code or ""):
            problems.append(f"{site.where}: {name}(...) code={site.code!r} is not area.what")
    return problems


def _data_refs(expr: ast.AST, nested: bool) -> set[str]:
    """The names, attributes and subscripts an expression reads (not the functions it calls);
    with ``nested``, also the parts of each (``row`` of ``row.id``)."""
    refs: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            refs.add(ast.unparse(node))
            if not nested:
                if isinstance(node, ast.Subscript):  # the key is data too: NAMES[axis]
                    visit(node.slice)
                return
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                visit(node.func.value)
            for arg in (*node.args, *(k.value for k in node.keywords)):
                visit(arg)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(expr)
    return refs


def uninterpolated(site: Site) -> list[str]:
    """Values the English message interpolates that no parameter carries."""
    if _constructor_params(site.cls) or not site.node.args or site.params is None:
        return []
    message = site.node.args[0]
    if not isinstance(message, ast.JoinedStr):
        return []
    carried: set[str] = set()
    for keyword in site.node.keywords:
        if keyword.arg not in (None, "code"):
            carried |= _data_refs(keyword.value, nested=True)
    return [
        f"{site.where}: {{{ast.unparse(part.value)}}} is in the message but in no parameter"
        for part in message.values
        if isinstance(part, ast.FormattedValue)
        and not _data_refs(part.value, nested=False) & carried
    ]


def literal_codes(tree: ast.AST) -> set[str]:
    """Codes written as ``{"code": "area.what", ...}`` (answers built by hand)."""
    return {
        value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant)
        and key.value == "code"
        and isinstance(value, ast.Constant)
        and isinstance(value.value, str)
    }


def keyword_codes(tree: ast.AST, names: Mapping[str, Any], callees: Collection[Any]) -> set[str]:
    """Literal ``code=`` arguments of the calls to ``callees``."""
    return {
        k.value.value
        for call in calls_to(tree, names, callees)
        for k in call.keywords
        if k.arg == "code" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
    }
