"""Every budget an input file can spend, in one place.

A bundle, a review or a workbook comes from outside; each limit below bounds the work or the pages it can
make us produce, so one within them scores in seconds and one beyond them is refused before the work. So
does a request to the review desk: its size and the time it may take to arrive.
docs/bundles.md lists them in a table (a test keeps the two equal). The readers that spend them on a
file are scoring/loading/readers.py.
"""

from __future__ import annotations

MIB = 1024 * 1024

# Files
MANIFEST_BYTES = 2 * MIB  # bundle.yaml, a review, a rubric, last year's ratings: any YAML we read
FILE_BYTES = 50 * MIB  # one document or text file of a bundle
TOTAL_BYTES = 1024 * MIB  # all documents and text files of a bundle together, each counted once
PROGRAMME_BYTES = 1 * MIB
REGISTRY_BYTES = 1 * MIB
REGISTRY_ROWS = 3_000  # rows of a registry after its header: centers of one city, with room to spare

# Zip bundles, checked from the end-of-central-directory record before the directory is parsed
ZIP_BYTES = 200 * MIB
ZIP_ENTRIES = 10_000
ZIP_DIRECTORY_BYTES = 4 * MIB

# Workbooks (an .xlsx is a zip too)
WORKBOOK_BYTES = 10 * MIB
WORKBOOK_UNPACKED = 100 * MIB
WORKBOOK_PARTS = 500
WORKBOOK_ROWS = 5000  # per sheet: the range a sheet claims and every row it holds, empty ones included
WORKBOOK_COLUMNS = 26  # per sheet (A to Z): the range it claims and every cell it holds, empty ones included
WORKBOOK_SHEET_BYTES = 8 * MIB  # one sheet's XML, unzipped, streamed
WORKBOOK_ELEMENTS = 500_000  # one sheet's XML elements (rows, cells, values, text runs, all else), counted as streamed

# What a manifest may ask the report to print
MANIFEST_LINES = 20_000
DOCUMENTS = 500  # each a row of the report's catalogue
CITATIONS_PER_DOCUMENT = 100  # how many answers may cite one document
CITATIONS = 1000  # citations in all: each a line of the report and a cell of its score table
LIST_ITEMS = 500  # items of one list or multi-select answer
ITEM_CHARS = 200  # characters of one list item
TEXT_CHARS = 20_000  # one narrative part, one 工作说明, one answer's reason or note
TEXTS_CHARS = 200_000  # all narrative parts, 工作说明, reasons and notes together
TEXT_LINES = 3000  # lines of all narrative parts, 工作说明, reasons and notes together

# What a review file may ask the papers to print (entries waiting to be re-checked, 待复核, included)
REVIEW_ENTRIES = 200  # entries of one review file
REVIEW_CHARS = 20_000  # characters of one review file's entries together: reasons, corrected values, names

# What the papers print of one document, wherever they name it (the catalogue, each citation, a review's
# rejection): a longer field ends in … there; the JSON, the workbook and the desk keep it whole.
TITLE_PRINTED = 60  # characters of its title
NUMBER_PRINTED = 30  # of its 文号
ISSUER_PRINTED = 30  # of its issuer
FILE_PRINTED = 60  # of its file's path, in a flag naming it (once per citation)

# The review desk (scoring serve): what one browser request may send
FORM_BYTES = 1 * MIB  # one form's body (a list correction at the limits above, percent-encoded, is ~0.9 MB)
REQUEST_SECONDS = 10  # a connection's whole request, headers and form, from its opening or its last answer
HEADER_BYTES = 16 * 1024  # a request's line and headers, held while they arrive
RENDERS = 2  # downloads (reports, 意见表, 汇总表) the desk makes at once: each can take a core and a GB
RENDERS_QUEUED = 4  # downloads one browser's session may have waiting or being made; more are refused (429)
