"""Property tests of the parsers that read what a department sends (issue #21).

Whatever bytes arrive, a parser either reads them or refuses them with the product's own
refusal, BulkError (a stable E-… code, exit code per the contract): never another exception
(a traceback), and a refusal never repeats the input's text (it may be a resident's data).

- the 検索条件 table (conditions.iter_conditions): arbitrary bytes; arbitrary text in UTF-8 (with
  and without BOM) and CP932; generated tables (random headers, cells, line ends, quoting, BOMs);
  .xlsx made by the real writer, .xlsx with random sheet XML and shared strings, damaged .xlsx
  zips (every compression method);
- the request containers (containers.open.open_request, .zip and .bte): arbitrary bytes, zips of
  any shape, and real containers (made by the real writers) flipped, cut, extended and spliced:
  refused, or read as exactly the original;
- 依頼票.json (exchange._irai and what exchange.run derives from it): any JSON value, any
  bytes, deep nesting, huge numbers, wrong types.

Example counts scale with the loaded hypothesis profile (tests/conftest.py): under "ci" the
module runs in well under a minute on 2 cores; HYPOTHESIS_PROFILE=fuzz runs 20 times as many.
Regressions found by these properties are the plain tests at the end.
"""
from __future__ import annotations

import csv
import inspect
import io
import json
import lzma
import re
import sys
import warnings
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import pyzipper
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from damage import byte_edits, mutate
from bulktool import conditions, keys, normalize, untrusted, xlsxread
from bulktool.checkdigit import with_check_digit
from bulktool.conditions import COLUMNS, iter_conditions
from bulktool.containers import aeszip
from bulktool.containers.limits import Limits
from bulktool.containers.open import open_request
from bulktool.department import make_sealed_request
from bulktool.exchange import ExchangeRequest, _irai
from bulktool.messages import MESSAGES, BulkError
from bulktool.model import RowError
from bulktool.tables import xlsx_sheet

# --- sizing ---------------------------------------------------------------------------------
BASE = settings().max_examples  # the loaded profile's (100 under "ci", 2000 under "fuzz")


def fuzz(percent: int) -> settings:
    """`percent` of the profile's example count; no deadline (2 shared cores)."""
    return settings(max_examples=max(5, BASE * percent // 100), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# Small limits so that the limit refusals (rows, entries, expanded size) are reached too.
SMALL = Limits(max_entries=12, max_expanded_bytes=200_000, max_rows=6, max_ratio=100)

# --- the refusal and the privacy rule -------------------------------------------------------
KOJIN = with_check_digit("12345678901")
CODE = with_check_digit("1234567890")
PERSONAL = ["試験太郎", "見本 花子", "しけん　たろう", "ミホン ハナコ", "架空県見本市中央1-2-3", "見本町大字架空123番地",
            KOJIN, CODE, "1975-04-01", "昭和50年4月1日", "S50.4.1", "090-1234-5678"]
# Text the product itself says (templates, reasons in the parsers' source): a cell that happens to
# be part of it is not a leak when a message holds it.
FIXED_TEXT = "".join(t for _, t in MESSAGES.values()) + "".join(
    inspect.getsource(m) for m in (conditions, normalize, xlsxread))


def leaked(said: str, cells) -> str | None:
    """The first input cell (4 characters or more, not text of the product's own) in `said`."""
    for cell in cells:
        text = str(cell).strip()
        if len(text) >= 4 and text not in FIXED_TEXT and text in said:
            return text
    return None


def read_table(name: str, data: bytes, limits: Limits = SMALL):
    """(items, None) when the table was read to its end, (None, BulkError) when refused. Any other
    exception (a warning too) propagates: that is the failure these properties look for."""
    try:
        with warnings.catch_warnings():  # a warning would reach the screen unfiltered: it fails too
            warnings.simplefilter("error")
            stream = iter_conditions(name, data, limits=limits)
            return list(stream.items), None
    except BulkError as err:
        return None, err


def check_private(items, err, cells) -> None:
    """A refusal's message and every row's reason name no input cell."""
    if err is not None:
        assert err.code.startswith("E-REQ-"), err.code
        said = f"{err.message} {err} {err.params}"
        assert leaked(said, cells) is None, (err.code, leaked(said, cells))
    for item in items or ():
        if isinstance(item, RowError):
            said = f"{item.field} {item.reason} {item.message}"
            assert leaked(said, cells) is None, (item, leaked(said, cells))


# --- 1. the 検索条件 table: CSV ---------------------------------------------------------------
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
cells = st.one_of(
    st.just(""), st.sampled_from(PERSONAL), any_text,
    st.from_regex(r"[0-9０-９]{1,13}", fullmatch=True),
    st.text(alphabet='",\r\n\t \'=+-@\ufeff', max_size=6),  # CSV's special characters, BOMs
    st.sampled_from(["本人確認情報", "附票", "男", "女", "1", "2", "３", "R5.4.1", "H31.4.30", "令和元年5月1日",
                     "2023-02-29", "明治6年1月1日", "19750401", "1975/4/1", "ｼｹﾝ ﾀﾛｳ", "1.5", "1e3", "²³"]),
)
# the control characters that refuse a table (conditions._CONTROL_BYTES, as characters)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
valid_headers = st.lists(st.sampled_from(COLUMNS[1:]), unique=True).flatmap(
    lambda rest: st.permutations(["連番", *rest]))
any_headers = st.lists(st.sampled_from(COLUMNS) | st.sampled_from(PERSONAL) | any_text, max_size=10)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp932"])


def in_encoding(text: str, encoding: str) -> str:
    """`text` as it comes back from `encoding` (CP932 cannot hold every character: '?')."""
    return text.encode(encoding, "replace").decode(encoding) if encoding == "cp932" else text


@st.composite
def csv_tables(draw, headers=any_headers, well_formed: bool = False):
    """(bytes, header, rows, encoding) of a CSV table. `well_formed`: written by csv.writer with
    quoting that keeps every line end inside its cell, no control characters."""
    encoding = draw(encodings)
    header = draw(headers)
    width = max(len(header), 1)
    cell = cells
    if well_formed:
        cell = cells.map(lambda c: CONTROL.sub("", c))
    rows = draw(st.lists(st.lists(cell.map(lambda c: in_encoding(c, encoding)), max_size=width + 2), max_size=8))
    if well_formed:
        eol, quoting = draw(st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\r\n", csv.QUOTE_ALL),
                                             ("\n", csv.QUOTE_ALL), ("\r", csv.QUOTE_ALL)]))
    else:
        eol, quoting = draw(st.sampled_from(["\r\n", "\n", "\r"])), draw(
            st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, None]))
    if quoting is None:  # joined by hand: quotes and line ends in cells left as they are
        text = eol.join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", eol, eol * 2]))
    else:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=eol, quoting=quoting).writerows([header, *rows])
        text = buf.getvalue()
    if not well_formed and draw(st.booleans()):
        text = draw(st.sampled_from(["\ufeff", "\ufeff\ufeff", " ", eol])) + text
    data = text.encode(encoding, "replace")
    return data, header, rows, encoding


@fuzz(100)
@given(st.binary(max_size=3000), st.sampled_from(["検索条件.csv", "表.CSV", "a.xlsx", "a.txt"]))
@example(b"\x81", "a.csv")
@example(b"\xef\xbb\xbf\xff", "a.csv")
@example(b"\xa4\xa2", "a.csv")  # EUC-JP
@example(b"\x00", "a.csv")
@example(b"PK\x05\x06" + bytes(18), "a.xlsx")
def test_any_bytes_are_read_or_refused(data, name):
    items, err = read_table(name, data)
    check_private(items, err, [])


@fuzz(100)
@given(st.text(max_size=400), encodings, st.sampled_from([None, ",", "\n", "\r\n"]))
def test_any_text_in_either_encoding_is_read_or_refused(text, encoding, joiner):
    if joiner is not None:  # a header that passes, so that the text reaches the rows
        text = joiner.join(["連番,氏名,生年月日,住所,住民票コード", text])
    items, err = read_table("検索条件.csv", text.encode(encoding, "ignore"))
    check_private(items, err, text.replace("\r", "\n").replace(",", "\n").split("\n"))


@fuzz(150)
@given(csv_tables())
def test_generated_csv_tables_are_read_or_refused_without_echo(table):
    data, header, rows, _ = table
    items, err = read_table("検索条件.csv", data)
    check_private(items, err, header + [c for r in rows for c in r])


def _blank(row: list[str]) -> bool:
    return all(not c.strip() for c in row)


@fuzz(100)
@given(csv_tables(headers=valid_headers, well_formed=True))
def test_a_well_formed_csv_table_is_read_with_one_item_per_row(table):
    """A table written by a CSV writer under a known header is never refused as a file (but for
    having no data row at all), and yields one item per line up to the last non-blank one."""
    data, header, rows, encoding = table
    items, err = read_table("検索条件.csv", data, Limits())
    data_rows = [r for r in rows]
    while data_rows and _blank(data_rows[-1]):
        data_rows.pop()
    if not data_rows:
        assert err is not None and err.code == "E-REQ-007"
        return
    assert err is None, err
    assert len(items) == len(data_rows)
    check_private(items, None, header + [c for r in rows for c in r])


# --- 1. the 検索条件 table: xlsx --------------------------------------------------------------
xlsx_values = st.one_of(cells, st.none(), st.integers(min_value=-10**15, max_value=10**15),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)))


@fuzz(40)
@given(st.one_of(valid_headers, any_headers), st.lists(st.lists(xlsx_values, max_size=11), max_size=7))
def test_generated_xlsx_tables_are_read_or_refused_without_echo(header, rows):
    header = [ILLEGAL_CHARACTERS_RE.sub("", h) for h in header]  # the writer cleans cells, not its header
    data = xlsx_sheet("検索条件", header, rows)
    items, err = read_table("検索条件.xlsx", data)
    check_private(items, err, header + [c for r in rows for c in r if isinstance(c, str)])
    if err is not None and header and header[0] == "連番" and len(set(header)) == len(header) \
            and all(h in COLUMNS for h in header):
        assert err.code in ("E-REQ-006", "E-REQ-007"), err  # a good header: never refused as a file


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


BASE_XLSX = xlsx_sheet("検索条件", ["連番", "住民票コード"], [["1", CODE]])
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _with_shared_strings(parts: dict[str, bytes], strings: bytes) -> dict[str, bytes]:
    """The workbook with a shared strings part, declared (openpyxl finds it by content type)."""
    parts = dict(parts)
    ct = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = ct.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType='
                                              '"application/vnd.openxmlformats-officedocument.spreadsheetml'
                                              '.sharedStrings+xml"/></Types>').encode()
    parts[STRINGS] = strings
    return parts


BASE_PARTS = _parts(BASE_XLSX)
HEADER_ROW = ('<row r="1">' + "".join(f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
                                      for col, name in zip("ABCDE", ("連番", "住民票コード", "氏名", "生年月日", "住所")))
              + "</row>")
xml_text = st.one_of(any_text.map(escape), any_text, st.sampled_from(PERSONAL),
                     st.sampled_from(["1e999", "nan", "-0", "4.5E+300", "99999999999999999999999", "", "TRUE",
                                      "#REF!", "2026-13-45T99:99", "&amp;", "&lt;", "]]>", "<x>", "&unknown;"]))
refs = st.one_of(st.none(), st.sampled_from(["A1", "B1", "A2", "XFD1048576", "XFE1", "A0", "A-1", "1A", "", "ZZZZ9"]),
                 any_text.map(escape))


@st.composite
def cell_xml(draw) -> str:
    ref, kind, style = draw(refs), draw(st.sampled_from([None, "s", "n", "str", "inlineStr", "b", "e", "d", "zz"])), \
        draw(st.one_of(st.none(), st.integers(-2, 10).map(str), xml_text))
    attrs = "".join(f' {k}="{v}"' for k, v in (("r", ref), ("t", kind), ("s", style)) if v is not None)
    value = draw(xml_text) if draw(st.booleans()) else str(draw(st.integers(-5, 10**20)))
    inner = draw(st.sampled_from([f"<v>{value}</v>", f"<is><t>{value}</t></is>", f"<f>{value}</f><v>1</v>", "",
                                  value]))
    return f"<c{attrs}>{inner}</c>"


@st.composite
def sheet_xml(draw) -> bytes:
    rows = []
    for cs in draw(st.lists(st.lists(cell_xml(), max_size=5), max_size=5)):
        # row numbers stay small here: one far past the sheet's end is its own regression test (slow)
        r = draw(st.one_of(st.none(), st.integers(-1, 3000).map(str), xml_text))
        attr = "" if r is None else f' r="{r}"'
        rows.append(f'<row{attr}>{"".join(cs)}</row>')
    dim = draw(st.sampled_from(["", '<dimension ref="A1:B2"/>', '<dimension ref="A1:XFD1048576"/>',
                                '<dimension ref="nonsense"/>']))
    if draw(st.booleans()):  # a header that passes, so that the rows are read
        rows.insert(0, HEADER_ROW)
    body = f'<worksheet xmlns="{NS}">{dim}<sheetData>{"".join(rows)}</sheetData></worksheet>'
    if draw(st.integers(0, 3)) == 0:  # cut somewhere: malformed XML
        body = body[:draw(st.integers(0, len(body)))]
    return body.encode("utf-8")


@st.composite
def strings_xml(draw) -> bytes:
    text = any_text.map(escape) | st.sampled_from(PERSONAL)
    items = draw(st.lists(st.one_of(text.map(lambda t: f"<si><t>{t}</t></si>"),
                                    text.map(lambda t: f"<si><r><t>{t}</t></r><r><t>x</t></r></si>"),
                                    st.just("<si/>")), max_size=6))
    if draw(st.integers(0, 9)) == 0:  # sometimes raw text: malformed XML
        items.append(draw(xml_text))
    count = draw(st.one_of(st.none(), st.integers(-1, 10**12)))
    c = "" if count is None else f' count="{count}" uniqueCount="{count}"'
    return f'<sst xmlns="{NS}"{c}>{"".join(items)}</sst>'.encode("utf-8")


def _zip(parts: dict[str, bytes], compress_type: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress_type) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return buf.getvalue()


@fuzz(120)
@given(sheet_xml(), st.one_of(st.none(), strings_xml()), st.booleans())
def test_xlsx_with_random_sheet_xml_and_shared_strings_is_read_or_refused(sheet, strings, empty_strings):
    parts = dict(BASE_PARTS)
    parts[SHEET] = sheet
    if strings is not None or empty_strings:
        parts = _with_shared_strings(parts, strings or b"")
    items, err = read_table("検索条件.xlsx", _zip(parts))
    check_private(items, err, [])


@fuzz(120)
@given(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]),
       st.sampled_from(sorted(BASE_PARTS)), byte_edits)
def test_a_damaged_xlsx_is_read_or_refused(method, part, ops):
    """Any compression method, bytes damaged in the zip or in one part before zipping."""
    parts = dict(BASE_PARTS)
    whole = ops[0][1] % 2 == 0  # damage the zip as a whole, or one part inside it
    if not whole:
        parts[part] = mutate(parts[part], ops)
    data = _zip(parts, method)
    if whole:
        data = mutate(data, ops)
    items, err = read_table("検索条件.xlsx", data)
    check_private(items, err, [])


# --- 2. the request containers ----------------------------------------------------------------
WHEN = (2026, 12, 3, 9, 0, 0)
PASSWORD = b"fuzz-request-password-1"
TERMINAL, DEPT, OTHER = keys.generate("fuzz-terminal"), keys.generate("fuzz-dept"), keys.generate("fuzz-other")
TABLE = ("連番,住民票コード\r\n" + "".join(f"{i},{with_check_digit(f'{i:010d}')}\r\n" for i in range(1, 6))).encode()
IRAI = json.dumps({"照会元": "D01", "事務": "P01", "依頼番号": "R-1"}, ensure_ascii=False).encode()
REAL_ZIP = aeszip.write_request("検索条件.csv", TABLE, PASSWORD.decode(), IRAI, when=WHEN)
REAL_BTE = make_sealed_request("検索条件.csv", TABLE, department_keys=DEPT, terminal=TERMINAL.public, irai=IRAI)


def open_container(name: str, data: bytes, password: bytes | None = PASSWORD, limits: Limits = SMALL):
    """(RequestFiles, None), or (None, BulkError); any other exception propagates."""
    try:
        return open_request(name, data, password=password, terminal_x25519=TERMINAL.x25519,
                            department_ed25519=DEPT.public.ed25519, limits=limits), None
    except BulkError as err:
        return None, err


def test_the_real_containers_open():
    for name, data in (("依頼.zip", REAL_ZIP), ("依頼.bte", REAL_BTE)):
        files, err = open_container(name, data)
        assert err is None and files == aeszip.RequestFiles("検索条件.csv", TABLE, IRAI), (name, err)


@fuzz(100)
@given(st.one_of(st.binary(max_size=3000),
                 st.tuples(st.sampled_from([b"BTE", b"BTE\x00", b"BTE\x00\x01", b"BTE\x00\x01\x00", b"PK\x03\x04",
                                            b"PK\x05\x06"]), st.binary(max_size=600)).map(b"".join)),
       st.sampled_from(["依頼.zip", "依頼.bte", "依頼.ZIP", "依頼.7z"]))
def test_any_bytes_as_a_container_are_refused(data, name):
    files, err = open_container(name, data)
    assert files is None and err.code.startswith("E-CON-"), (files, err)


@fuzz(150)
@given(st.sampled_from(["zip", "bte"]), byte_edits)
def test_a_damaged_container_is_refused_or_read_as_the_original(kind, ops):
    """Flipped, cut, extended, spliced: refused, or exactly what was sealed (never other data)."""
    name, real = ("依頼.zip", REAL_ZIP) if kind == "zip" else ("依頼.bte", REAL_BTE)
    data = mutate(real, ops)
    files, err = open_container(name, data)
    if err is None:
        assert files == aeszip.RequestFiles("検索条件.csv", TABLE, IRAI)
    else:
        assert err.code.startswith("E-CON-"), err


entry_names = st.one_of(st.sampled_from(["検索条件.csv", "表.xlsx", "依頼票.json", "../up.csv", "/abs.csv", "C:x.csv",
                                         "a\\..\\b.csv", "dir/", "out/検索条件.csv", "inner.zip", "x.bte", "readme.txt",
                                         "nul\x00.csv", "依頼票.JSON"]),
                      st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                              min_size=1, max_size=20))


def zip_entries(names, kinds=("aes256",) * 4 + ("aes128", "plain")):
    return st.tuples(names, st.binary(max_size=300), st.sampled_from(kinds),
                     st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA]))


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # a repeated entry name is part of the shape
@fuzz(60)
@given(zip_entries(st.sampled_from(["検索条件.csv", "表.xlsx", "out/検索条件.csv"]) | entry_names,
                  ("aes256", "aes256", "aes128", "plain")),
       st.lists(zip_entries(st.just("依頼票.json") | entry_names), max_size=3), st.randoms(use_true_random=False),
       st.sampled_from([PASSWORD, b"wrong-password", b""]))
def test_zips_of_any_shape_are_refused_or_yield_what_they_hold(first, others, rnd, password):
    """A table (most often well named) and any other entries, in any order, each encrypted or not:
    refused, or read as the table written, only with the right password."""
    entries = [first, *others]
    rnd.shuffle(entries)
    buf = io.BytesIO()
    for i, (name, content, enc, method) in enumerate(entries):
        mode = "w" if i == 0 else "a"
        kw = {}
        if enc.startswith("aes"):
            kw = {"encryption": pyzipper.WZ_AES, "encryption_kwargs": {"nbits": 256 if enc == "aes256" else 128}}
        with pyzipper.AESZipFile(buf, mode, compression=method, **kw) as zf:
            if kw:
                zf.setpassword(PASSWORD)
            zf.writestr(name, content)
        buf.seek(0)
    files, err = open_container("依頼.zip", buf.getvalue(), password)
    if err is None:
        # what was written under AES-256, by base name (zipfile cuts a name at a NUL)
        sealed = {(n.split("\x00")[0].replace("\\", "/").split("/")[-1], c) for n, c, enc, _ in entries
                  if enc == "aes256"}
        assert (files.table_name, files.table) in sealed
        assert files.irai is None or ("依頼票.json", files.irai) in sealed
        assert password == PASSWORD
    else:
        assert err.code.startswith("E-CON-"), err


# --- 3. 依頼票.json ---------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text | st.sampled_from(PERSONAL),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=25)
IRAI_KEYS = ["照会元", "事務", "依頼番号", "基準日"]
irai_docs = st.dictionaries(st.sampled_from(IRAI_KEYS) | any_text,
                            json_values | st.sampled_from(["D01", "P01", "R-1", "2026-12-01", "2026-02-30", "",
                                                           "2026-12-01T00:00", "+2026-12-01", "２０２６-１２-０１"]),
                            max_size=5)
LIMIT = sys.getrecursionlimit()


def _deep(n: int, key: str) -> bytes:
    """{"key": [[[…1…]]]} nested n deep."""
    return ('{"' + key + '":' + "[" * n + "1" + "]" * n + "}").encode()


def _dumps(value, ascii_: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_).encode("utf-8")


irai_bytes = st.one_of(
    st.tuples(irai_docs, st.booleans()).map(lambda a: _dumps(*a)),
    st.tuples(json_values, st.booleans()).map(lambda a: _dumps(*a)),
    st.binary(max_size=300),
    st.tuples(st.integers(LIMIT - 60, LIMIT + 60), st.sampled_from(IRAI_KEYS)).map(lambda a: _deep(*a)),
    st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 50_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.tuples(st.sampled_from(IRAI_KEYS), st.integers(4000, 30_000)).map(
        lambda a: ('{"' + a[0] + '":' + "9" * a[1] + "}").encode()),
    st.sampled_from([b'{"\xe4\xbe\x9d\xe9\xa0\xbc\xe7\x95\xaa\xe5\x8f\xb7": 1e999999}', b'{"a": NaN}', b"Infinity",
                     b'{"\xe5\x9f\xba\xe6\xba\x96\xe6\x97\xa5": -1e400}', "\ufeff{}".encode(), b"\xef\xbb\xbf",
                     '{"照会元": "D01"}'.encode("utf-16"), b'{"a":1}{"b":2}', b'{"\\ud800": 1}', b'"\\ud800"']),
)
requests = st.builds(ExchangeRequest, drive=st.just(Path(".")), department=st.sampled_from(["D01", "D02"]),
                     purpose=st.sampled_from(["P01", "P02"]), approval=st.just("決裁-1"),
                     request_no=st.none() | st.just("R-1"), as_of=st.none() | st.just(date(2026, 12, 1)))


def read_irai(raw: bytes, req: ExchangeRequest) -> None:
    """exchange._irai, then what exchange.run derives from its document when the command does not
    say it (the 依頼番号 through untrusted.check, the 基準日 parsed): refusals only."""
    try:
        doc = _irai(raw, req)
        assert isinstance(doc, dict)
        if req.request_no is None and "依頼番号" in doc:
            untrusted.check(str(doc["依頼番号"]), "依頼番号")
        if req.as_of is None and "基準日" in doc:
            date.fromisoformat(str(doc["基準日"]))
    except BulkError as err:
        assert err.code in ("E-CON-017", "E-DEP-007", "E-REQ-020"), err


@fuzz(150)
@given(irai_bytes, requests)
def test_irai_json_is_read_or_refused(raw, req):
    read_irai(raw, req)


def test_irai_json_nested_to_the_recursion_limit_is_read_or_refused():
    """Every depth around the interpreter's recursion limit, under every key (the window where
    parsing still succeeds but a later str() of the value might not is a few levels wide)."""
    for n in range(LIMIT - 80, LIMIT + 5):
        for key in IRAI_KEYS:
            read_irai(_deep(n, key), ExchangeRequest(Path("."), "D01", "P01", "決裁-1"))


# --- regressions found by the properties above ------------------------------------------------

def _lzma_xlsx_damaged() -> bytes:
    """The base workbook with every part LZMA-compressed and the first part's stream damaged."""
    data = bytearray(_zip(BASE_PARTS, zipfile.ZIP_LZMA))
    first = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode()) + 10
    for k in range(start, start + 10):
        data[k] ^= 0x55
    return bytes(data)


def test_regression_xlsx_with_a_damaged_lzma_entry_is_refused():
    """xlsxread.check_xlsx let lzma.LZMAError out (a traceback) for an LZMA-compressed part."""
    data = _lzma_xlsx_damaged()
    with pytest.raises(lzma.LZMAError):  # what the zip library says about it…
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                zf.read(info)
    items, err = read_table("検索条件.xlsx", data)  # …is a refusal of the table
    assert items is None and err.code == "E-REQ-008"


def test_regression_xlsx_cut_at_its_first_byte_is_refused():
    """xlsxread.check_xlsx let ValueError ("negative seek value -1") out: with the first byte of
    the file gone, zipfile places the first entry before the start of the file."""
    data = _zip(BASE_PARTS, zipfile.ZIP_STORED)[1:]
    items, err = read_table("検索条件.xlsx", data)
    assert items is None and err.code == "E-REQ-008"


def _central_directory(data: bytes) -> tuple[int, int]:
    """(offset of the central directory, offset of the end record) of a zip."""
    end = data.rfind(b"PK\x05\x06")
    return int.from_bytes(data[end + 16:end + 20], "little"), end


def test_regression_a_zip_whose_directory_drops_an_entry_is_refused():
    """aeszip.read_entries read a request with a one-bit change in its central directory as the
    table alone, 依頼票.json silently gone (found by the damaged-container property: the first
    entry's comment length became 256, which swallowed the rest of the directory). Refused as a
    damaged ZIP (E-CON-011)."""
    cd, _ = _central_directory(REAL_ZIP)
    comment_high_byte = cd + 33  # central directory record: file comment length at 32–33
    damaged = bytearray(REAL_ZIP)
    damaged[comment_high_byte] ^= 1
    with zipfile.ZipFile(io.BytesIO(bytes(damaged))) as zf:
        assert [i.filename for i in zf.infolist()] == ["検索条件.csv"]  # what zipfile lists
    files, err = open_container("依頼.zip", bytes(damaged))
    assert files is None and err.code == "E-CON-011"


def _sheet_with_row(r: int) -> bytes:
    sheet = (f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>1</t>'
             '</is></c></row></sheetData></worksheet>')
    return _zip({**BASE_PARTS, SHEET: sheet.encode()})


def test_regression_an_xlsx_row_far_past_the_sheet_end_is_refused():
    """xlsxread.xlsx_rows read a 5 KB workbook whose second row is numbered 100,000,000 for as
    long as it took openpyxl to yield every empty row before it (and kept each as a pending blank
    line): hours and gigabytes (found by the random-sheet property; the worker ran out of memory).
    Refused (E-REQ-008) once the rows pass Excel's last row."""
    items, err = read_table("検索条件.xlsx", _sheet_with_row(100_000_000), Limits())
    assert items is None and err.code == "E-REQ-008" and "1048576" in err.message


def test_regression_an_xlsx_needing_zip_version_6_4_is_refused():
    """xlsxread.check_xlsx let NotImplementedError ("zip file version 6.4") out of zipfile.ZipFile
    for a directory record whose version-needed field was damaged (found by the damaged-xlsx
    property)."""
    data = bytearray(_zip(BASE_PARTS))
    cd, _ = _central_directory(bytes(data))
    data[cd + 6] = 64  # central directory record: version needed to extract, 6.4
    items, err = read_table("検索条件.xlsx", bytes(data))
    assert items is None and err.code == "E-REQ-008"


def test_regression_a_zip_whose_directory_lost_its_utf8_flag_is_refused():
    """aeszip.read_entries read 検索条件.csv as 讀懃ｴ｢譚｡莉ｶ.csv when one bit of the directory record
    (the UTF-8 names flag) was flipped: pyzipper checks the local header's name by the directory's
    flag (found by the damaged-container property). Refused: the two headers disagree (E-CON-011)."""
    cd, _ = _central_directory(REAL_ZIP)
    damaged = bytearray(REAL_ZIP)
    damaged[cd + 9] ^= 0x08  # central directory record: flags at 8–9, bit 11 in the high byte
    with pyzipper.AESZipFile(io.BytesIO(bytes(damaged))) as zf:
        assert zf.infolist()[0].filename != "検索条件.csv"
    files, err = open_container("依頼.zip", bytes(damaged))
    assert files is None and err.code == "E-CON-011"


def test_regression_openpyxl_warnings_stay_off_the_screen():
    """xlsxread.xlsx_rows let openpyxl's UserWarning about a sheet without a relation id reach
    stderr unfiltered (found by the damaged-xlsx property with warnings as errors). The sheet is
    skipped, the table read, nothing printed."""
    workbook = BASE_PARTS["xl/workbook.xml"].decode()
    assert workbook.count("</sheets>") == 1
    parts = {**BASE_PARTS, "xl/workbook.xml": workbook.replace(
        "</sheets>", '<sheet name="x" sheetId="2"/></sheets>').encode()}
    items, err = read_table("検索条件.xlsx", _zip(parts))
    assert err is None and len(items) == 1
