"""Read the CDNOW purchase data (Fader, Hardie & Lee 2005) and convert it to the data contract.

Two layouts exist: the master file (header line, CRLF line ends, four columns
``customer_id date number_of_cds dollar_value``) and the 1/10 sample (no header, five columns,
the first being the customer's id in the master file, the second their number in the sample). Several
lines of one customer on one day are one order, so the contract's ``order_id`` is ``<customer>-<YYYYMMDD>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features import columns as C

MASTER_COLUMNS = ("customer_id", "date", "quantity", "amount")
SAMPLE_COLUMNS = ("customer_id", "sample_number", "date", "quantity", "amount")


class CdnowFormatError(ValueError):
    """The file is neither the CDNOW master nor the sample layout."""


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """Return CDNOW lines as ``customer_id, timestamp, quantity, amount`` with string ids.

    Raises
    ------
    CdnowFormatError
        When a line does not have four (master) or five (sample) fields, or a date or number is malformed.
    """
    path = Path(path)
    with path.open("r", newline=None) as fh:  # universal newlines: CRLF and LF alike
        lines = [line.split() for line in fh if line.strip()]
    if not lines:
        raise CdnowFormatError(f"{path}: the file is empty; expected CDNOW purchase lines")
    if not lines[0][0].isdigit():  # the master file starts with a header
        lines = lines[1:]
    widths = {len(fields) for fields in lines}
    if widths not in ({4}, {5}):
        bad = [i + 1 for i, f in enumerate(lines) if len(f) != len(lines[0])][:5]
        raise CdnowFormatError(
            f"{path}: lines have {sorted(widths)} fields (first odd data lines: {bad}); expected 4 fields "
            "(master: id date cds dollars) or 5 (sample: id master_id date cds dollars) on every line"
        )
    names = MASTER_COLUMNS if widths == {4} else SAMPLE_COLUMNS
    raw = pd.DataFrame(lines, columns=list(names))
    timestamp = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    quantity = pd.to_numeric(raw["quantity"], errors="coerce")
    amount = pd.to_numeric(raw["amount"], errors="coerce")
    bad_rows = raw.index[timestamp.isna() | quantity.isna() | amount.isna()]
    if len(bad_rows):
        shown = ", ".join(f"line {i + 1}: {' '.join(lines[i])!r}" for i in bad_rows[:5])
        raise CdnowFormatError(f"{path}: unreadable date or number ({shown}); expected YYYYMMDD, integer, decimal")
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: raw["customer_id"].astype(str),
            C.TIMESTAMP: timestamp,
            C.QUANTITY: quantity.astype("int64"),
            C.AMOUNT: amount.astype("float64"),
        }
    )


def cdnow_transactions(lines: pd.DataFrame) -> pd.DataFrame:
    """Return contract ``transactions``: one order per customer-day, lines kept, ``order_id`` per day."""
    day = lines[C.TIMESTAMP].dt.strftime("%Y%m%d")
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: lines[C.CUSTOMER_ID],
            C.ORDER_ID: lines[C.CUSTOMER_ID] + "-" + day,
            C.TIMESTAMP: lines[C.TIMESTAMP],
            C.QUANTITY: lines[C.QUANTITY],
            C.AMOUNT: lines[C.AMOUNT],
        }
    )
